"""The Docker backend: each step attempt in its own container, through the Engine API.

The Docker SDK blocks, so every call runs in a thread and the event loop keeps
heartbeating. A container's output is read by one thread per container for as long
as it runs (its own pool, so long steps cannot starve short calls in the default one).
"""

import asyncio
import contextlib
import logging
import math
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

from docker import DockerClient
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.containers import Container

from execflow_contracts import StepWork

from .base import AttemptKey, LineSink, Outcome, exit_outcome
from .containers import WORKSPACE, ContainerPolicy, container_options
from .lines import LineSplitter

log = logging.getLogger(__name__)


class DockerBackend:
    def __init__(
        self,
        client: DockerClient,
        policy: ContainerPolicy,
        stop_grace_s: float = 10.0,
        pull: bool = True,
        max_running: int = 16,
    ) -> None:
        self._client = client
        self.policy = policy
        self._stop_grace_s = stop_grace_s
        self._pull = pull
        self._readers = ThreadPoolExecutor(max_running, thread_name_prefix="docker-output")
        # Attempts between "about to create" and "removed", with their container once
        # created: the reaper spares these.
        self._active: dict[AttemptKey, str | None] = {}
        self._stopping: set[tuple[str, str]] = set()

    def owns(self, key: AttemptKey, container_id: str) -> bool:
        """Whether a running step of this backend owns (or is creating) the container."""
        if key not in self._active:
            return False
        owner = self._active[key]
        return owner is None or owner == container_id

    async def run(
        self,
        work: StepWork,
        workspace: Path,
        on_line: LineSink,
        on_started: Callable[[], None],
        env: dict[str, str] | None = None,
    ) -> Outcome:
        key = AttemptKey.of(work)
        if refusal := self.policy.refusal(work.run.image or ""):
            return Outcome(None, refusal, "start")
        self._active[key] = None
        # Paths in the runner's workspace are under /workspace in the container.
        inside = {k: v.replace(str(workspace), WORKSPACE) for k, v in (env or {}).items()}
        try:
            try:
                container = await asyncio.to_thread(self._create, work, workspace, inside)
            except (DockerException, ValueError) as exc:  # ValueError: its workdir
                return Outcome(
                    None, f"cannot create a container of {work.run.image!r}: {exc}", "start"
                )
            self._active[key] = container.id
            try:
                return await self._run(container, work, on_line, on_started)
            except DockerException as exc:  # the engine refused: say so, do not retry blindly
                return Outcome(None, f"the Docker engine failed the step: {exc}")
            finally:
                await asyncio.to_thread(remove_container, self._client, container.id)
        finally:
            self._active.pop(key, None)
            self._stopping.discard((key.execution_id, key.step_id))

    async def stop(self, key: AttemptKey, grace_s: float) -> bool:
        """Stop the attempt if it runs here (the engine's grace is `docker_stop_grace_s`)."""
        if key not in self._active:
            return False
        await self.stop_step(UUID(key.execution_id), key.step_id)
        return True

    async def stop_step(self, execution_id: UUID, step_id: str) -> int:
        """Stop the step's containers (SIGTERM, SIGKILL after the grace) and remove them.

        Returns how many there were. The step's `run` then ends, as stopped.
        """
        key = (str(execution_id), step_id)
        if any((k.execution_id, k.step_id) == key for k in self._active):
            self._stopping.add(key)  # so its `run` says it was stopped, not that it failed
        found = await asyncio.to_thread(
            self._client.containers.list,
            all=True,
            filters={"label": self.policy.of_step(execution_id, step_id)},
        )
        await asyncio.gather(*(asyncio.to_thread(self._stop, c) for c in found))
        return len(found)

    def close(self) -> None:
        self._readers.shutdown(wait=False, cancel_futures=True)

    def _create(self, work: StepWork, workspace: Path, env: dict[str, str]) -> Container:
        options = container_options(work, workspace, self.policy, env)
        share_workspace(workspace, options["user"])
        try:
            return self._client.containers.create(**options)
        except ImageNotFound:
            if not self._pull:
                raise
            log.info("pulling %s", work.run.image)
            self._client.images.pull(work.run.image)
            return self._client.containers.create(**options)

    async def _run(
        self,
        container: Container,
        work: StepWork,
        on_line: LineSink,
        on_started: Callable[[], None],
    ) -> Outcome:
        key = (str(work.execution_id), work.step_id)
        # Attached before it starts, so not one line is missed.
        output = await asyncio.to_thread(
            self._client.api.attach, container.id, stream=True, logs=True, demux=True
        )
        try:
            if key in self._stopping:
                return Outcome(None, "stopped before it started")
            try:
                await asyncio.to_thread(container.start)
            except APIError as exc:
                what = f"{work.run.command[0]!r} in {work.run.image!r}"
                return Outcome(None, f"cannot start {what}: {exc.explanation}", "start")
            on_started()
            loop = asyncio.get_running_loop()
            sink = _threadsafe(loop, on_line)
            await loop.run_in_executor(self._readers, _read_output, output, sink)
        finally:
            output.close()
        code, oom = await asyncio.to_thread(_result, container)
        if key in self._stopping:
            stopped = "stopped" + (f" (exit code {code})" if code is not None else "")
            return Outcome(code, stopped, "signal")
        if code is None:
            return Outcome(None, "the container was removed while it ran")
        if code != 0 and oom:
            limit = self.policy.memory_limit(work)
            return Outcome(
                code, f"out of memory: killed at its memory limit ({limit or 'none set'})", "signal"
            )
        return exit_outcome(code)

    def _stop(self, container: Container) -> None:
        with contextlib.suppress(NotFound):
            # The SDK waits the grace plus its own timeout for the engine to answer.
            container.stop(timeout=math.ceil(self._stop_grace_s))
        remove_container(self._client, container.id)


def share_workspace(workspace: Path, user: str) -> None:
    """A container step that runs as another user than the runner's may write the
    workspace, and its `.execflow` (where it appends its facts), too: both open to all
    (the folder of workspaces is the runner's, closed to others). What each step writes
    is its user's: steps run as different users read each other's files, and write
    only their own."""
    if user.split(":", maxsplit=1)[0] in ("root", "0", str(os.getuid())):
        return
    for folder in (workspace, workspace / ".execflow"):
        with contextlib.suppress(FileNotFoundError):
            folder.chmod(0o777)


def _threadsafe(loop: asyncio.AbstractEventLoop, on_line: LineSink) -> LineSink:
    """The sink as seen from a reader thread: lines go to the loop, in order."""

    def sink(stream: str, text: str) -> None:
        loop.call_soon_threadsafe(on_line, stream, text)

    return sink


def _read_output(frames: Iterable[tuple[bytes | None, bytes | None]], sink: LineSink) -> None:
    streams = {"stdout": LineSplitter(), "stderr": LineSplitter()}
    try:
        for out, err in frames:
            for name, chunk in (("stdout", out), ("stderr", err)):
                for line in streams[name].feed(chunk or b""):
                    sink(name, line)
    except (OSError, DockerException) as exc:  # the engine went away; the outcome tells
        log.warning("lost the output of a container: %s", exc)
    for name, splitter in streams.items():
        for line in splitter.rest():
            sink(name, line)


def _result(container: Container) -> tuple[int | None, bool]:
    """Exit code and whether the kernel killed it for memory; None if it is gone."""
    try:
        status: dict[str, Any] = container.wait()
        container.reload()
    except NotFound:
        return None, False
    return int(status["StatusCode"]), bool(container.attrs["State"].get("OOMKilled"))


def remove_container(client: DockerClient, container_id: str) -> None:
    """Kill and remove; one that is gone or going already is fine."""
    try:
        client.api.remove_container(container_id, force=True)
    except NotFound:
        pass
    except APIError as exc:
        # 409: being removed already (by `stop`, the reaper or DELETE /environments).
        if exc.status_code != 409:
            raise
