"""Templates and conditions that could run away, evaluated in a process of their own.

The scheduler applies commands in a thread, in batches: one `{% for %}` nested three
deep, or `'x' * 10**10`, rendered there would hold every execution of the batch (and
the ones behind it) for as long as it runs, or take the process down with it. What
`execflow_workflows.isolation` does not find plain is sent here instead: to a child
process (`python -m execflow_scheduler.expressions`, which loads only the workflow
language) held to a memory limit (RLIMIT_AS) and killed at a deadline. A step whose
template or condition fails so fails with the reason, as for any other failure of its
template; the batch waits for it at most the deadline, and the next such expression
finds a new child already started.

Why a process and not a budget inside this one: a loop in Jinja or a CEL macro, a
filter that grows a string, a regular expression that backtracks — each would need its
own counter, and a single C call (`'x' * 10**10`) cannot be interrupted at all. A child
bounds them all at once, and the plain expressions that are nearly all of them (lookups
and comparisons) never pay for it.
"""

import contextlib
import json
import os
import resource
import selectors
import subprocess
import sys
import threading
import time
from typing import IO, Any

from execflow_workflows import ExpressionError, conditions, isolation, templates

READY = b'{"ready": true}\n'
# The child's start (imports) is not counted against an expression's deadline.
START_TIMEOUT_S = 30.0


class ExpressionProcess:
    """An `isolation.Evaluator`: one child at work, one expression at a time (the
    scheduler's batches come one after the other), and a spare started beside it, so
    that a child killed at its deadline is replaced by one whose imports are done."""

    def __init__(self, timeout_s: float = 0.5, memory_mb: int = 512) -> None:
        self._timeout_s = timeout_s
        self._memory_mb = memory_mb
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._spare: _Child | None = None

    def __call__(self, kind: isolation.Kind, source: str, context: dict[str, Any]) -> Any:
        request = json.dumps({"kind": kind, "source": source, "context": context}).encode()
        with self._lock:
            child = self._running()
            try:
                line = child.ask(request, self._timeout_s)
            except TimeoutError:
                self._retire()
                raise ExpressionError(
                    f"{kind} {_shown(source)} took longer than {self._timeout_s:g}s: stopped"
                ) from None
            except (OSError, EOFError):
                self._retire()
                raise ExpressionError(
                    f"{kind} {_shown(source)} ended its evaluation (over"
                    f" {self._memory_mb} MiB of memory?)"
                ) from None
            answer = json.loads(line)
            if answer.get("ending"):
                self._retire()
        if "error" in answer:
            raise ExpressionError(answer["error"])
        return answer["value"]

    def start(self) -> None:
        """Start a child now, rather than when the first expression comes (and waits)."""
        with self._lock:
            self._running()

    def close(self) -> None:
        with self._lock:
            for child in (self._child, self._spare):
                if child is not None:
                    child.kill()
            self._child = self._spare = None

    def _running(self) -> "_Child":
        """The child at work, started (or taken from the spare) if there is none; it
        has finished its imports when this returns."""
        if self._child is None or not self._child.alive():
            if self._child is not None:
                self._child.kill()
            self._child, self._spare = self._spare or _Child(self._memory_mb), None
        if self._spare is None:
            self._spare = _Child(self._memory_mb)
        self._child.wait_ready()
        return self._child

    def _retire(self) -> None:
        """Killed: it may still be running away (or be out of memory)."""
        if self._child is not None:
            self._child.kill()
            self._child = None


class _Child:
    def __init__(self, memory_mb: int) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")},
        )
        self._ready = False

    def alive(self) -> bool:
        return self._process.poll() is None

    def wait_ready(self) -> None:
        if not self._ready:
            assert self._process.stdout is not None
            if _read_line(self._process.stdout, START_TIMEOUT_S) != READY.strip():
                raise ExpressionError("the expression evaluator did not start")
            self._ready = True

    def ask(self, request: bytes, timeout_s: float) -> bytes:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(request + b"\n")
        self._process.stdin.flush()
        return _read_line(self._process.stdout, timeout_s)

    def kill(self) -> None:
        self._process.kill()
        self._process.wait()
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def _read_line(pipe: IO[bytes], timeout_s: float) -> bytes:
    """One line from the pipe within `timeout_s` (TimeoutError), or EOFError."""
    deadline = time.monotonic() + timeout_s
    received = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(pipe, selectors.EVENT_READ)
        while not received.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise TimeoutError
            chunk = os.read(pipe.fileno(), 1 << 16)
            if not chunk:
                raise EOFError
            received += chunk
    return bytes(received).strip()


def _shown(source: str) -> str:
    return repr(source if len(source) <= 200 else f"{source[:200]}…")


class _OutOfMemory(Exception):
    pass


def _answer(request: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    source, context = request["source"], request["context"]
    try:
        if request["kind"] == "template":
            return {"value": templates.render_here(source, context)}
        return {"value": conditions.evaluate_here(source, context)}
    except ExpressionError as exc:
        return {"error": str(exc)}
    except MemoryError:
        raise _OutOfMemory(f"{_shown(source)} needs more than {memory_mb} MiB of memory") from None
    except RecursionError:
        return {"error": f"{_shown(source)} nests too deeply"}
    except Exception as exc:  # whatever else a template's filter may raise
        return {"error": f"{_shown(source)} failed: {exc!r}"}


def _exit_when_orphaned(parent: int) -> None:
    """A scheduler that dies (even by SIGKILL) closes the child's stdin, which ends it
    between expressions; one running away is ended here (its loop lets this thread run)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def serve(memory_mb: int) -> None:
    """The child: answer each request line with one line, until stdin closes."""
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # What a first use costs (CEL's parser is built, Jinja's compiler warmed) is paid
    # before the child says it is ready, not out of an expression's deadline.
    templates.render_here("{{ x + 1 }}", {"x": 1})
    conditions.evaluate_here("x > 1", {"x": 2})
    out = sys.stdout.buffer
    out.write(READY)
    out.flush()
    for line in sys.stdin.buffer:
        try:
            answer, going_on = _answer(json.loads(line), memory_mb), True
        except _OutOfMemory as exc:
            # Said, and then no more: a process that ran out of memory once is not
            # trusted again (the next expression gets a new one).
            answer, going_on = {"error": str(exc), "ending": True}, False
        out.write(json.dumps(answer).encode() + b"\n")
        out.flush()
        if not going_on:
            return


if __name__ == "__main__":
    serve(int(sys.argv[1]))
