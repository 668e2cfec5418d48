"""Leases step work from the WORK stream and runs each attempt on a backend.

A step's work message is acknowledged only after its finish report is stored, and
heartbeats (in-progress acks) hold the lease meanwhile: if this runner dies, the
message is delivered to another runner when the lease lapses. Stop requests and
answers to questions arrive as events.
"""

import asyncio
import logging
import shutil
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from execflow_contracts import (
    ExecutionExpired,
    InputProvided,
    ReportStepFinished,
    RunningStep,
    SecretNotFound,
    SecretsUnavailable,
    StepStopRequested,
    StepWork,
    Topology,
)
from execflow_platform import (
    STEP_LOG_MAX_BYTES,
    LeaseKeeper,
    Slots,
    StepControls,
    StepReporter,
    StreamKeeper,
    Uploader,
    may_start,
    take_work,
    work_to_start,
)

from .attempt import Attempt
from .backends import AttemptKey, Backend
from .metrics import SLOTS_USED
from .observing import observed_run
from .secrets import StepSecrets

log = logging.getLogger(__name__)

REMEMBERED_ATTEMPTS = 10_000

# Binds a queue's durable consumer (again, after its stream was made anew).
Subscriber = Callable[[], Awaitable[JetStreamContext.PullSubscription]]


class Worker:
    def __init__(
        self,
        nc: Client,
        topology: Topology,
        backend: Backend,
        worker_id: str,
        capacity: int,
        lease_s: float,
        stop_grace_s: float,
        work_dir: Path,
        uploader: Uploader,
        log_max_bytes: int = STEP_LOG_MAX_BYTES,
        secrets: StepSecrets | None = None,
    ) -> None:
        self._log_max_bytes = log_max_bytes
        self._secrets = secrets or StepSecrets()
        self._nc = nc
        self._js: JetStreamContext = nc.jetstream()
        self._topology = topology
        self._backend = backend
        self.worker_id = worker_id
        self._lease_s = lease_s
        self._stop_grace_s = stop_grace_s
        self._work_dir = work_dir
        self._uploader = uploader
        self._tasks: set[asyncio.Task[None]] = set()
        self._attempts: dict[AttemptKey, Attempt] = {}
        self._steps: dict[AttemptKey, RunningStep] = {}  # for the registry
        self._controls = StepControls(self._stop, self._answer, self._expired)
        self._slots = Slots(capacity)
        self._forgetting: set[asyncio.Task[None]] = set()
        # The attempts this runner has run to their end, the latest ones.
        self._done: OrderedDict[AttemptKey, None] = OrderedDict()

    def running_steps(self) -> list[RunningStep]:
        return list(self._steps.values())

    async def run(
        self, subscribers: list[Subscriber], stop: asyncio.Event, keeper: StreamKeeper
    ) -> None:
        """Take work from each queue's consumer until `stop`; a stream made anew (NATS
        lost it) has its consumers bound again. Every queue has a pull of its own waiting
        on the server (work on any queue starts as soon as it comes), each reserving a
        share of the free slots first, so that the capacity holds."""
        following = asyncio.create_task(
            self._controls.keep_following(self._nc, self._topology, keeper, stop)
        )
        share = max(1, self._slots.capacity // max(1, len(subscribers)))
        closing = asyncio.create_task(stop.wait())
        closing.add_done_callback(lambda _: self._slots.close())
        try:
            await asyncio.gather(
                *(take_work(s, keeper, self._slots, share, self._start, stop) for s in subscribers)
            )
        finally:
            closing.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await following

    def _start(self, message: Msg) -> None:
        """Run one message's step in the slot its pull reserved."""
        task = asyncio.get_running_loop().create_task(self._run_one(message))
        self._tasks.add(task)
        SLOTS_USED.set(len(self._tasks))
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        SLOTS_USED.set(len(self._tasks))
        self._slots.give_back()
        if not task.cancelled() and task.exception() is not None:
            log.error("step task failed", exc_info=task.exception())

    async def _run_one(self, message: Msg) -> None:
        work = await work_to_start(self._js, self._topology, self._controls, message)
        if work is None:
            return
        with observed_run(message, work, self.worker_id):
            await self._run_work(message, work)

    async def _run_work(self, message: Msg, work: StepWork) -> None:
        key = AttemptKey.of(work)
        ran_here = key in self._done or key in self._attempts
        if not await may_start(self._js, self._topology, message, work, ran_here):
            return
        try:
            # Only now, as it starts: a step that waited in the queue got no value early.
            secrets = await self._secrets.resolve(work)
        except (SecretNotFound, SecretsUnavailable) as exc:
            await self._fail_to_start(message, work, str(exc))
            return
        workspace = self._work_dir / str(work.execution_id)
        try:
            attempt = Attempt(
                self._js,
                self._topology,
                self._backend,
                self.worker_id,
                work,
                message.metadata.num_delivered,
                workspace,
                self._uploader,
                log_max_bytes=self._log_max_bytes,
                secrets=secrets,
            )
        except OSError as exc:  # its workspace cannot be made: it would fail every time
            await self._fail_to_start(message, work, f"cannot make its workspace: {exc}")
            return
        self._attempts[key] = attempt
        self._steps[key] = RunningStep(
            execution_id=work.execution_id,
            step_id=work.step_id,
            attempt=work.attempt,
            backend=work.run.backend,
            started_at=datetime.now(UTC),
            namespace=work.namespace,
        )

        def lost() -> None:
            attempt.abandoned = True
            asyncio.get_running_loop().create_task(self._backend.stop(key, 0))

        lease = LeaseKeeper(self._nc, message, self._lease_s, lost)
        try:
            await attempt.run()
            if not attempt.abandoned:
                self._remember_done(key)
                await message.ack()
        finally:
            lease.stop()
            self._attempts.pop(key, None)
            self._steps.pop(key, None)

    def _remember_done(self, key: AttemptKey) -> None:
        self._done[key] = None
        while len(self._done) > REMEMBERED_ATTEMPTS:
            self._done.popitem(last=False)

    async def _fail_to_start(self, message: Msg, work: StepWork, reason: str) -> None:
        log.error("%s/%s: %s", work.execution_id, work.step_id, reason)
        reporter = StepReporter(
            self._js, self._topology, work, message.metadata.num_delivered, self.worker_id
        )
        now = datetime.now(UTC)
        reporter.send(
            ReportStepFinished(
                started_at=now,
                finished_at=now,
                exit_code=None,
                error=reason,
                error_kind="start",
                **reporter.identity(),
            )
        )
        await reporter.drain()
        await message.ack()

    def _stop(self, event: StepStopRequested) -> None:
        key = AttemptKey.make(event.execution_id, event.step_id, event.attempt)
        if key in self._attempts:
            log.info("stopping %s: %s", key, event.reason)
            asyncio.get_running_loop().create_task(self._backend.stop(key, self._stop_grace_s))

    def _expired(self, event: ExecutionExpired) -> None:
        """The execution's time to live is over: its workspace here, and its artifacts,
        go (a retention that really deletes)."""
        task = asyncio.get_running_loop().create_task(self._forget(event.execution_id))
        self._forgetting.add(task)
        task.add_done_callback(self._forgetting.discard)

    async def _forget(self, execution_id: UUID) -> None:
        workspace = self._work_dir / str(execution_id)
        try:
            await asyncio.to_thread(shutil.rmtree, workspace, ignore_errors=True)
            await asyncio.to_thread(self._uploader.store.forget, execution_id)
            log.info("execution %s expired: its workspace and artifacts are deleted", execution_id)
        except OSError as exc:
            log.warning("execution %s expired; deleting its files failed: %r", execution_id, exc)

    def _answer(self, event: InputProvided) -> None:
        for key, attempt in self._attempts.items():
            if key[:2] == (str(event.execution_id), event.step_id):
                attempt.answer(event.value)
