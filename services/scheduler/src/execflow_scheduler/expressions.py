"""Templates and conditions that could run away, evaluated in a process of their own.

The scheduler applies commands in a thread, in batches: one `{% for %}` nested three
deep, or `'x' * 10**10`, rendered there would hold every execution of the batch (and
the ones behind it) for as long as it runs, or take the process down with it. What
`execflow_workflows.isolation` does not find plain is sent here instead: to a child
process (`python -m execflow_scheduler.expressions`, which loads only the workflow
language, warmed up before it says it is ready). The child forks for each expression:
the fork is held to a memory limit (RLIMIT_AS) and a CPU-time limit, and killed at the
deadline, while the child itself, which never evaluates anything, stays warm for the
next one (a fork costs about a millisecond; a new child's imports, two seconds). A
step whose template or condition fails so fails with the reason, as for any other
failure of its template; the batch waits for it at most the deadline.

Why a process and not a budget inside this one: a loop in Jinja or a CEL macro, a
filter that grows a string, a regular expression that backtracks — each would need its
own counter, and a single C call (`'x' * 10**10`) cannot be interrupted at all. A fork
bounds them all at once, and the plain expressions that are nearly all of them (lookups
and comparisons) never pay for it.
"""

import contextlib
import json
import os
import resource
import selectors
import signal
import subprocess
import sys
import threading
import time
from typing import IO, Any

from execflow_workflows import ExpressionError, conditions, isolation, templates

READY = b'{"ready": true}\n'
# The child's start (imports) is not counted against an expression's deadline.
START_TIMEOUT_S = 30.0
# The child answers within the deadline and a fork; past this much more, it is stuck.
BACKSTOP_S = 5.0


class ExpressionProcess:
    """An `isolation.Evaluator`: one child, one expression at a time (the scheduler's
    batches come one after the other)."""

    def __init__(self, timeout_s: float = 0.5, memory_mb: int = 512) -> None:
        self._timeout_s = timeout_s
        self._memory_mb = memory_mb
        self._lock = threading.Lock()
        self._child: _Child | None = None

    def __call__(self, kind: isolation.Kind, source: str, context: dict[str, Any]) -> Any:
        request = json.dumps({"kind": kind, "source": source, "context": context}).encode()
        with self._lock:
            child = self._running()
            try:
                answer = json.loads(child.ask(request, self._timeout_s + BACKSTOP_S))
            except (TimeoutError, OSError, EOFError, ValueError):
                child.kill()  # stuck or gone: the next expression gets a new one
                self._child = None
                raise ExpressionError(f"{kind} {_shown(source)}: the evaluator failed") from None
        if "error" in answer:
            raise ExpressionError(answer["error"])
        return answer["value"]

    def start(self) -> None:
        """Start the child now, rather than when the first expression comes (and waits)."""
        with self._lock:
            self._running()

    def close(self) -> None:
        with self._lock:
            if self._child is not None:
                self._child.kill()
            self._child = None

    def _running(self) -> "_Child":
        """The child, started if there is none; it is warm when this returns."""
        if self._child is None or not self._child.alive():
            if self._child is not None:
                self._child.kill()
            self._child = _Child(self._memory_mb, self._timeout_s)
        self._child.wait_ready()
        return self._child


class _Child:
    def __init__(self, memory_mb: int, timeout_s: float) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(memory_mb), str(timeout_s)],
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
    return _read_until(pipe.fileno(), timeout_s, lambda received: received.endswith(b"\n"))


def _read_until(fd: int, timeout_s: float, done: Any) -> bytes:
    """What `fd` gives until `done(received)` or its end: EOFError if it ended with
    nothing, TimeoutError past `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    received = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while not done(received):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise TimeoutError
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                if not received:
                    raise EOFError
                break
            received += chunk
    return bytes(received).strip()


def _shown(source: str) -> str:
    return repr(source if len(source) <= 200 else f"{source[:200]}…")


def _answer(request: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    source, context = request["source"], request["context"]
    shown = f"{request['kind']} {_shown(source)}"
    try:
        if request["kind"] == "template":
            return {"value": templates.render_here(source, context)}
        return {"value": conditions.evaluate_here(source, context)}
    except ExpressionError as exc:
        return {"error": str(exc)}
    except MemoryError:
        return {"error": f"{shown} needs more than {memory_mb} MiB of memory"}
    except RecursionError:
        return {"error": f"{shown} nests too deeply"}
    except Exception as exc:  # whatever else a template's filter may raise
        return {"error": f"{shown} failed: {exc!r}"}


def _in_fork(request: dict[str, Any], memory_mb: int, timeout_s: float) -> dict[str, Any]:
    """The answer, computed in a fork held to the limits and killed at the deadline."""
    shown = f"{request['kind']} {_shown(request['source'])}"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the fork: compute, say, and end
        os.close(read)
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        # Should its parent be killed too, the kernel ends it.
        cpu = int(timeout_s) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        with os.fdopen(write, "wb") as out:
            out.write(json.dumps(_answer(request, memory_mb)).encode())
        os._exit(0)
    os.close(write)
    try:
        return json.loads(_read_until(read, timeout_s, lambda _: False))  # type: ignore[no-any-return]
    except TimeoutError:
        return {"error": f"{shown} took longer than {timeout_s:g}s: stopped"}
    except (EOFError, ValueError):
        return {"error": f"{shown} ended its evaluation (over {memory_mb} MiB of memory?)"}
    finally:
        os.close(read)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def serve(memory_mb: int, timeout_s: float) -> None:
    """The child: answer each request line with one line, until stdin closes (its
    scheduler ended: then no fork outlives the deadline, and it ends too)."""
    # What a first use costs (CEL's parser is built, Jinja's compiler warmed) is paid
    # before the child says it is ready, and forks inherit it.
    templates.render_here("{{ x + 1 }}", {"x": 1})
    conditions.evaluate_here("x > 1", {"x": 2})
    out = sys.stdout.buffer
    out.write(READY)
    out.flush()
    for line in sys.stdin.buffer:
        out.write(json.dumps(_in_fork(json.loads(line), memory_mb, timeout_s)).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]), float(sys.argv[2]))
