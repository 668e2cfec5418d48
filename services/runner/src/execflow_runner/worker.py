"""Leases step work from the WORK stream, runs it on a backend, reports the outcome.

A step's work message is acknowledged only after its finish report is stored, and
heartbeats (in-progress acks) hold the lease meanwhile: if this runner dies, the
message is delivered to another runner when the lease lapses.
"""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from pathlib import Path

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from execflow_contracts import (
    Command,
    ReportStepFinished,
    ReportStepStarted,
    RunningStep,
    StepWork,
    Topology,
)
from execflow_platform import Outgoing, dead_letter, fetch, publish_one

from .backends import Backend
from .logs import LogShipper

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        js: JetStreamContext,
        topology: Topology,
        backend: Backend,
        worker_id: str,
        capacity: int,
        lease_s: float,
        work_dir: Path,
    ) -> None:
        self._js = js
        self._topology = topology
        self._backend = backend
        self.worker_id = worker_id
        self._capacity = capacity
        self._lease_s = lease_s
        self._work_dir = work_dir
        self._running: set[asyncio.Task[None]] = set()
        self._steps: dict[str, RunningStep] = {}  # by work dedupe id, for the registry
        self._slot_free = asyncio.Event()
        self._slot_free.set()
        self._fetching = asyncio.Lock()

    def running_steps(self) -> list[RunningStep]:
        return list(self._steps.values())

    async def run(
        self, subscriptions: list[JetStreamContext.PullSubscription], stop: asyncio.Event
    ) -> None:
        await asyncio.gather(*(self._pull(s, stop) for s in subscriptions))
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _pull(
        self, subscription: JetStreamContext.PullSubscription, stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            await self._slot_free.wait()
            # One fetch at a time across queues, so capacity is never exceeded.
            async with self._fetching:
                free = self._capacity - len(self._running)
                if free <= 0:
                    continue
                for message in await fetch(subscription, free):
                    self._start(message)

    def _start(self, message: Msg) -> None:
        task = asyncio.get_running_loop().create_task(self._run_one(message))
        self._running.add(task)
        if len(self._running) >= self._capacity:
            self._slot_free.clear()
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._slot_free.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("step task failed", exc_info=task.exception())

    async def _run_one(self, message: Msg) -> None:
        try:
            work = StepWork.model_validate_json(message.data)
        except ValidationError as exc:
            await dead_letter(self._js, self._topology.dead_letter("work"), message, str(exc))
            return
        heartbeat = asyncio.get_running_loop().create_task(self._heartbeat(message))
        try:
            await self._execute(work)
            await message.ack()
        finally:
            heartbeat.cancel()

    async def _execute(self, work: StepWork) -> None:
        workspace = self._work_dir / str(work.execution_id)
        workspace.mkdir(parents=True, exist_ok=True)
        shipper = LogShipper(self._js, self._topology, work)
        started_at = datetime.now(UTC)
        started_report: list[asyncio.Future[object]] = []

        def on_started() -> None:
            report = ReportStepStarted(
                execution_id=work.execution_id,
                step_id=work.step_id,
                attempt=work.attempt,
                worker=self.worker_id,
                started_at=started_at,
                actor=self.worker_id,
            )
            started_report.append(asyncio.ensure_future(self._send(report)))

        self._steps[work.dedupe_id] = RunningStep(
            execution_id=work.execution_id,
            step_id=work.step_id,
            attempt=work.attempt,
            backend=work.run.backend,
            started_at=started_at,
        )
        try:
            outcome = await self._backend.run(work, workspace, shipper.add, on_started)
        finally:
            self._steps.pop(work.dedupe_id, None)
        await shipper.close()
        finished = ReportStepFinished(
            execution_id=work.execution_id,
            step_id=work.step_id,
            attempt=work.attempt,
            worker=self.worker_id,
            started_at=started_at,
            finished_at=datetime.now(UTC),
            exit_code=outcome.exit_code,
            error=outcome.error,
            actor=self.worker_id,
        )
        await asyncio.gather(*started_report)
        await (await self._send(finished))

    async def _send(self, command: Command) -> "asyncio.Future[object]":
        subject = self._topology.command(command.execution_id, type(command).__name__)
        outgoing = Outgoing(subject, command.model_dump_json().encode(), command.dedupe_id)
        return await publish_one(self._js, outgoing)

    async def _heartbeat(self, message: Msg) -> None:
        while True:
            await asyncio.sleep(self._lease_s / 3)
            with contextlib.suppress(nats.errors.Error):
                await message.in_progress()
