"""A reference remote agent: claims steps over HTTP and runs them as local processes.

It speaks only the API's `/api/v1/agent-control` routes, so it works where NATS is out
of reach. One step at a time per slot: claim (long poll), run with the step's command,
env and workdir in a local workspace, extend the lease every third of it, ship output
lines and step-protocol facts as they come, complete with the exit code. A lease lost
(409) stops the step: another worker has it now. The job's signals (a long poll) stop
the step when its execution is cancelled or its attempt times out, and hand it the
answer to its question. When the step ends, the files it declared and its log are
uploaded (`agent_files`).
"""

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import tempfile
from pathlib import Path
from typing import Any

import httpx
import stamina

from execflow_contracts import Claim, JobSignals, loads_bounded

from .agent_files import LeaseLostError, StepFiles

log = logging.getLogger("execflow.agent")
AGENTS = "/api/v1/agent-control/agents"
SHIP_EVERY_S = 0.2
# One post of lines or facts holds at most this many, and about this many bytes: well
# within the API's body bound (EXECFLOW_API_MAX_BODY_BYTES, 2 MiB by default).
POST_MAX_ITEMS = 1000
POST_MAX_BYTES = 512 * 1024
SIGNALS_WAIT_S = 5.0
DEFAULT_STOP_GRACE_S = 10.0
# The API may be away for a while: ask again with backoff (0.1 s to 5 s) and jitter.
RETRY_FOREVER: dict[str, Any] = {"attempts": None, "timeout": None, "wait_max": 5.0}
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")


class Job:
    """One claimed step, run to its end (or until its lease is lost)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        claim: Claim,
        work_dir: Path,
        stop_grace_s: float = DEFAULT_STOP_GRACE_S,
    ) -> None:
        self._http = http
        self.claim = claim
        self._path = f"/api/v1/agent-control/jobs/{claim.id}"
        self._workspace = work_dir / str(claim.step.execution_id)
        self._answer = self._workspace / f".{claim.id}.answer.json"
        self._stop_grace_s = stop_grace_s
        self._lines: list[dict[str, str]] = []
        self._events_offset = 0
        self._lost = asyncio.Event()
        self._files = StepFiles(self._workspace, self._path, claim)

    async def run(self) -> None:
        self._workspace.mkdir(parents=True, exist_ok=True)
        events = self._workspace / f".{self.claim.id}.events.jsonl"
        run = self.claim.step.run
        env = (
            {k: v for k, v in os.environ.items() if k in PASSED_ENV}
            | run.literal_env
            | self.claim.secrets
            | {
                "EXECFLOW_EXECUTION_ID": str(self.claim.step.execution_id),
                "EXECFLOW_STEP_ID": self.claim.step.step_id,
                "EXECFLOW_ATTEMPT": str(self.claim.step.attempt),
                "EXECFLOW_WORKSPACE": str(self._workspace),
                "EXECFLOW_EVENTS": str(events),
                "EXECFLOW_ANSWER": str(self._answer),
            }
        )
        cwd = self._workspace / run.workdir if run.workdir else self._workspace
        try:
            process = await asyncio.create_subprocess_exec(
                *run.command,
                cwd=cwd,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own process group: a stop reaches children
            )
        except OSError as exc:
            await self._post("complete", exit_code=None, error=f"could not start: {exc}")
            return
        beating = asyncio.create_task(self._heartbeat())
        shipping = asyncio.create_task(self._ship_forever(events))
        following = asyncio.create_task(self._follow_signals(process))
        try:
            reading: asyncio.Future[Any] = asyncio.gather(
                self._read(process.stdout, "stdout"), self._read(process.stderr, "stderr")
            )
            lost: asyncio.Future[Any] = asyncio.create_task(self._lost.wait())
            await asyncio.wait([reading, lost], return_when=asyncio.FIRST_COMPLETED)
            if self._lost.is_set():
                _kill(process)
                log.warning("job %s: lease lost, step stopped", self.claim.id)
                return
            code = await process.wait()
            lost.cancel()
            shipping.cancel()
            following.cancel()
            await self._ship(events)
            for line in await self._files.upload(self._http):
                self._lines.append({"stream": "stderr", "line": line})
            await self._ship(events)  # what the uploads had to say
            await self._post("complete", exit_code=code)
            log.info("job %s completed with exit code %s", self.claim.id, code)
        except LeaseLostError:
            log.warning("job %s: lease lost before completing", self.claim.id)
        finally:
            beating.cancel()
            shipping.cancel()
            following.cancel()
            _kill(process)

    async def _read(self, stream: asyncio.StreamReader | None, name: str) -> None:
        assert stream is not None
        async for raw in stream:
            line = raw.decode(errors="replace").rstrip("\n")
            self._lines.append({"stream": name, "line": line})
            self._files.line(name, line)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.claim.lease_s / 3)
            try:
                await self._post("lease")
            except LeaseLostError:
                self._lost.set()
                return

    async def _follow_signals(self, process: asyncio.subprocess.Process) -> None:
        """Hand the step its answer when one comes; stop it when asked to."""
        answered = False
        while True:
            try:
                signals = await self._signals()
            except LeaseLostError:
                self._lost.set()
                return
            if signals.answered and not answered:
                partial = self._answer.with_suffix(".tmp")
                partial.write_text(json.dumps(signals.answer))
                partial.rename(self._answer)  # atomic: the step never reads half an answer
                answered = True
            if signals.stop is not None:
                log.info("job %s: stopping the step: %s", self.claim.id, signals.stop)
                await self._stop(process)
                return

    async def _signals(self) -> JobSignals:
        """The job's signals (a long poll), asked again with backoff while the API is away."""
        async for attempt in stamina.retry_context(on=httpx.HTTPError, **RETRY_FOREVER):
            with attempt:
                return JobSignals.model_validate(await self._post("signals", wait=SIGNALS_WAIT_S))
        raise AssertionError("unreachable")

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self._stop_grace_s)
        except TimeoutError:
            _kill(process)

    async def _ship_forever(self, events: Path) -> None:
        while True:
            await asyncio.sleep(SHIP_EVERY_S)
            try:
                await self._ship(events)
            except LeaseLostError:
                self._lost.set()
                return

    async def _ship(self, events: Path) -> None:
        lines, self._lines = self._lines, []
        for batch in batches(lines):
            await self._post("logs", lines=batch)
        for batch in batches(self._new_facts(events)):
            await self._post("events", events=batch)

    def _new_facts(self, events: Path) -> list[dict[str, Any]]:
        try:
            with events.open("rb") as f:
                f.seek(self._events_offset)
                data = f.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]  # a partial last line waits for its end
        self._events_offset += len(complete)
        facts: list[dict[str, Any]] = []
        for line in complete.splitlines():
            with contextlib.suppress(ValueError):
                fact = loads_bounded(line)
                if isinstance(fact, dict) and isinstance(fact.get("type"), str):
                    facts.append(fact)
                    self._files.declare(fact)
                    continue
            self._lines.append({"stream": "stderr", "line": f"execflow: ignored {line[:200]!r}"})
        return facts

    async def _post(self, what: str, **body: Any) -> Any:
        response = await self._http.post(
            f"{self._path}/{what}", json={"lease_token": self.claim.lease_token, **body}
        )
        if response.status_code in (404, 409):
            raise LeaseLostError(response.text)
        response.raise_for_status()
        return response.json()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _kill(process: asyncio.subprocess.Process) -> None:
    # Only while it runs: once reaped, its process group id may belong to another.
    if process.returncode is None:
        _signal_group(process.pid, signal.SIGKILL)


async def serve(
    api: str,
    name: str,
    queues: list[str],
    capacity: int,
    work_dir: Path,
    wait_s: float = 10.0,
    stop_grace_s: float = DEFAULT_STOP_GRACE_S,
    labels: dict[str, str] | None = None,
    token: str | None = None,
) -> None:
    """Claim and run steps until cancelled, `capacity` at once; listed with the workers
    (with its `labels`) meanwhile. `token`: an agent token (or an admin key)."""
    timeout = max(wait_s, SIGNALS_WAIT_S) + 10  # long polls answer within their wait
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with httpx.AsyncClient(base_url=api, timeout=timeout, headers=headers) as http:
        me = {
            "name": name,
            "queues": queues,
            "capacity": capacity,
            "labels": labels or {},
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        await _call(http, "POST", AGENTS, json=me)
        try:
            await asyncio.gather(
                *(
                    _slot(http, name, queues, capacity, work_dir, wait_s, stop_grace_s)
                    for _ in range(capacity)
                )
            )
        finally:
            await _call(http, "DELETE", f"{AGENTS}/{name}")


async def _call(http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> None:
    """A registration call: its failure is logged, not fatal (a claim registers too)."""
    try:
        response = await http.request(method, path, **kwargs)
    except httpx.TransportError as exc:
        log.warning("%s %s: the API is unreachable (%s)", method, path, exc)
        return
    if response.status_code >= 400:
        log.warning("%s %s refused: %s %s", method, path, response.status_code, response.text)


async def _slot(
    http: httpx.AsyncClient,
    name: str,
    queues: list[str],
    capacity: int,
    work_dir: Path,
    wait_s: float,
    stop_grace_s: float,
) -> None:
    body = {"agent": name, "queues": queues, "capacity": capacity, "wait": wait_s}
    while True:
        claim = await _claim(http, body)
        if claim is None:
            continue
        log.info("job %s: step %s of %s", claim.id, claim.step.step_id, claim.step.execution_id)
        await Job(http, claim, work_dir, stop_grace_s).run()


class ClaimRefused(Exception):
    """The API answered a claim with an error: asked again, after a while."""


async def _claim(http: httpx.AsyncClient, body: dict[str, Any]) -> Claim | None:
    """The next job, or None if none came within the wait; asked again with backoff
    while the API is unreachable or refuses."""
    async for attempt in stamina.retry_context(
        on=(httpx.TransportError, ClaimRefused), **RETRY_FOREVER
    ):
        with attempt:
            response = await http.post("/api/v1/agent-control/claims/next", json=body)
            if response.status_code == 204:
                return None
            if response.status_code != 200:
                raise ClaimRefused(f"claim refused: {response.status_code} {response.text}")
            return Claim.model_validate(response.json())
    raise AssertionError("unreachable")


def default_work_dir() -> Path:
    return Path(tempfile.gettempdir()) / "execflow-agent"


def batches(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """`items` in order, in posts of at most POST_MAX_ITEMS and about POST_MAX_BYTES as
    JSON (an item larger than that alone)."""
    found: list[list[dict[str, Any]]] = []
    batch: list[dict[str, Any]] = []
    size = 0
    for item in items:
        item_size = len(json.dumps(item))
        if batch and (size + item_size > POST_MAX_BYTES or len(batch) == POST_MAX_ITEMS):
            found.append(batch)
            batch, size = [], 0
        batch.append(item)
        size += item_size
    if batch:
        found.append(batch)
    return found
