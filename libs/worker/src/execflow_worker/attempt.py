"""One attempt of a function step on this worker: its call, its lines, facts and
questions, and its finish report (with the runner's reporter, the same way)."""

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext

from execflow_artifacts import Uploader
from execflow_bus import StepReporter
from execflow_contracts import ReportStepFinished, StepFact, StepWork, Topology

from .calls import Call, failure, settle
from .capture import LineSink, current
from .context import Schema, StepIdentity
from .functions import Function

log = logging.getLogger(__name__)

# A function's files are where its process put them: it has no workspace to stay in.
ANYWHERE = Path("/")
# As a runner does: a call that ends this soon after its start reports both together.
START_REPORT_DELAY_S = 0.01

CallMaker = Callable[[Function, Any, StepIdentity, Callable[..., Any], Any, LineSink], Call]


class FunctionAttempt:
    def __init__(
        self,
        js: JetStreamContext,
        topology: Topology,
        work: StepWork,
        delivery: int,
        worker_id: str,
        function: Function,
        make_call: CallMaker,
        stop_grace_s: float,
        end_capture: Callable[[LineSink], None],
        uploader: Uploader,
    ) -> None:
        self.work = work
        self.reporter = StepReporter(js, topology, work, delivery, worker_id)
        self._function = function
        self._make_call = make_call
        self._grace_s = stop_grace_s
        self._end_capture = end_capture
        self._uploader = uploader
        self._declared: dict[str, StepFact] = {}
        self._step = StepIdentity(
            work.execution_id, work.step_id, work.attempt, delivery, function.name
        )
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._stopping: asyncio.Future[str] = self._loop.create_future()
        self._answer: asyncio.Future[Any] | None = None
        self.abandoned = False

    def abandon(self) -> None:
        """Its lease is lost: stop the call, and report nothing (the work is another's)."""
        self.abandoned = True
        self.stop("its worker lost the lease")

    def stop(self, reason: str) -> None:
        if not self._stopping.done():
            self._stopping.set_result(reason)
        if self._answer is not None and not self._answer.done():
            self._answer.cancel()

    def answer(self, value: Any) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(value)

    async def run(self) -> None:
        started_at = datetime.now(UTC)
        self.reporter.started(started_at, START_REPORT_DELAY_S)
        # What the call logs and prints is this step's (its task and threads inherit it).
        token = current.set(self._line)
        try:
            output, error, kind = await self._outcome()
        finally:
            current.reset(token)
            self._end_capture(self._line)
        if self.abandoned:
            log.warning(
                "%s/%s: abandoned, its lease lost", self.work.execution_id, self.work.step_id
            )
            return
        await self._store_artifacts()
        # Every line is stored before the finish: a follower's stream ends with them all.
        await self.reporter.logs.drain()
        self.reporter.send(
            ReportStepFinished(
                started_at=started_at,
                finished_at=datetime.now(UTC),
                exit_code=0 if error is None else None,
                error=error,
                error_kind=kind,
                output=output,
                **self.reporter.identity(),
            )
        )
        await self.reporter.drain()

    async def _outcome(self) -> tuple[Any, str | None, str | None]:
        try:
            argument = self._function.arguments(self.work.run.args)
            call = self._make_call(
                self._function, argument, self._step, self._fact, self._ask, self._line
            )
            value = await settle(call, self._stopping, self._grace_s)
            return self._function.result(value), None, None
        except Exception as exc:
            error, kind = failure(exc, self._line)
            return None, error, kind

    def _line(self, stream: str, text: str) -> None:
        if threading.get_ident() == self._loop_thread:
            self.reporter.logs.add(stream, text)
        else:
            self._loop.call_soon_threadsafe(self.reporter.logs.add, stream, text)

    def _fact(self, raw: dict[str, Any]) -> None:
        try:
            declared = self.reporter.fact(raw)
        except (TypeError, ValueError, KeyError) as exc:
            self._line("stderr", f"execflow: ignored a malformed {raw.get('type')} fact: {exc}")
            return
        if declared is not None:
            self._declared[declared.name] = declared

    async def _store_artifacts(self) -> None:
        """The files the call declared, into the artifact store (a refusal is logged)."""
        for declared in self._declared.values():
            stored = await self._uploader.upload(self.work, ANYWHERE, declared)
            if stored.status == "refused":
                self._line(
                    "stderr", f"execflow: artifact '{declared.name}' refused: {stored.error}"
                )
            self.reporter.add_fact(stored)
        self.reporter.flush_facts()

    async def _ask(self, prompt: str, schema: Schema) -> Any:
        self._answer = self._loop.create_future()
        self.reporter.fact({"type": "question", "prompt": prompt, "schema": schema})
        return await self._answer
