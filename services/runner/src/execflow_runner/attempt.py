"""One attempt of one step on this runner: reports, logs, protocol facts, the lease."""

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from nats.js import JetStreamContext

from execflow_contracts import (
    MAX_OUTPUT_BYTES,
    ReportStepFinished,
    StepFact,
    StepWork,
    Topology,
    loads_bounded,
)
from execflow_platform import STEP_LOG_MAX_BYTES, StepReporter, Uploader
from execflow_telemetry import tracing

from .backends import Backend
from .protocol import Fact, FactReader

log = logging.getLogger(__name__)

# A step that ends this soon after its start reports both in its finish report: one
# message instead of two (the scheduler records the start from the finish report). So
# does a step that starts this soon after the runner took it: its start report says when
# it was taken, and no claim report is sent.
START_REPORT_DELAY_S = 0.01


class Attempt:
    def __init__(
        self,
        js: JetStreamContext,
        topology: Topology,
        backend: Backend,
        worker_id: str,
        work: StepWork,
        delivery: int,
        workspace: Path,
        uploader: Uploader,
        start_report_delay_s: float = START_REPORT_DELAY_S,
        log_max_bytes: int = STEP_LOG_MAX_BYTES,
    ) -> None:
        self._backend = backend
        self.work = work
        self._workspace = workspace
        self._uploader = uploader
        control = workspace / ".execflow"
        control.mkdir(parents=True, exist_ok=True)
        name = f"{work.step_id}.{work.attempt}.{delivery}"
        self.events_path = control / f"{name}.events.jsonl"
        self.answer_path = control / f"{name}.answer.json"
        self.log_path = control / f"{name}.log"
        # Opened with the first line: a silent step writes no file.
        self._log_file: TextIO | None = None
        self._reporter = StepReporter(
            js, topology, work, delivery, worker_id, log_max_bytes=log_max_bytes
        )
        self._declared: dict[str, StepFact] = {}
        self._start_report_delay_s = start_report_delay_s
        # Set when the lease is lost: the step is stopped and reports nothing more (the
        # work runs elsewhere, or will).
        self.abandoned = False
        self._last_stdout: str | None = None

    async def run(self) -> None:
        # When the step's process (or container) is there; the attempt's own start if it
        # never is (it could not be started).
        started_at = datetime.now(UTC)
        # Taken now: said with the start if that comes within the hold, else on its own.
        self._reporter.claimed(started_at, self._start_report_delay_s)
        reader = FactReader(self.events_path, self._on_fact, self._warn)

        def on_started() -> None:
            nonlocal started_at
            started_at = datetime.now(UTC)
            self._reporter.started(started_at, self._start_report_delay_s)
            reader.start()  # facts are read only from now on: none is reported before the start

        env = {"EXECFLOW_EVENTS": str(self.events_path), "EXECFLOW_ANSWER": str(self.answer_path)}
        try:
            outcome = await self._backend.run(
                self.work, self._workspace, self._on_line, on_started, env
            )
        finally:
            reader.stop()
        if self.abandoned:
            log.warning(
                "%s/%s: abandoned, its lease lost", self.work.execution_id, self.work.step_id
            )
            return
        self._reporter.flush_facts()
        await self._store_artifacts()
        # Every line is stored before the finish: a follower's stream ends with them all.
        await self._reporter.logs.close()
        error = outcome.error
        tracing.annotate({"process.exit.code": outcome.exit_code, "error.type": outcome.error_kind})
        output = self._reporter.output
        if self.work.output == "stdout-json" and outcome.exit_code == 0 and error is None:
            output, error = stdout_json(self._last_stdout)
        self._reporter.send(
            ReportStepFinished(
                started_at=started_at,
                finished_at=datetime.now(UTC),
                exit_code=outcome.exit_code,
                error=error,
                error_kind=outcome.error_kind,
                output=output,
                **self._reporter.identity(),
            )
        )
        await self._reporter.drain()

    def answer(self, value: Any) -> None:
        """Hand the step the answer to its question (it waits for `$EXECFLOW_ANSWER`)."""
        partial = self.answer_path.with_suffix(".tmp")
        partial.write_text(json.dumps(value))
        partial.rename(self.answer_path)  # atomic: the step never reads half an answer

    def _on_line(self, stream: str, text: str) -> None:
        if stream == "stdout":
            self._last_stdout = text
        if not self._reporter.logs.add(stream, text):
            return  # over the step's log cap: not kept in its log file either
        if self._log_file is None:
            self._log_file = self.log_path.open("a", encoding="utf-8")
        self._log_file.write(f"{stream}: {text}\n")

    async def _store_artifacts(self) -> None:
        """Declared files first (a refusal is logged), then the step's whole log if it
        wrote anything (a silent step costs no upload and no event)."""
        for declared in self._declared.values():
            stored = await self._uploader.upload(self.work, self._workspace, declared)
            if stored.status == "refused":
                self._warn(f"execflow: artifact '{declared.name}' refused: {stored.error}")
            self._reporter.add_fact(stored)
        if self._log_file is None:
            self._reporter.flush_facts()
            return
        self._log_file.close()
        log_fact = StepFact(
            kind="artifact",
            at=datetime.now(UTC),
            name=f"{self.work.step_id}.log",
            path=str(self.log_path.relative_to(self._workspace)),
            artifact_kind="log",
        )
        self._reporter.add_fact(await self._uploader.upload(self.work, self._workspace, log_fact))
        self._reporter.flush_facts()

    def _on_fact(self, fact: Fact) -> None:
        try:
            declared = self._reporter.fact(fact)
        except (TypeError, ValueError, KeyError) as exc:
            self._warn(f"execflow: ignored a malformed {fact['type']} event: {exc}")
            return
        if declared is not None:
            self._declared[declared.name] = declared

    def _warn(self, message: str) -> None:
        log.warning("%s/%s: %s", self.work.execution_id, self.work.step_id, message)
        self._on_line("stderr", message)


def stdout_json(line: str | None) -> tuple[Any, str | None]:
    """A step declared `output: stdout-json`: its output is its last stdout line, as JSON."""
    try:
        if line is not None and len(line.encode()) > MAX_OUTPUT_BYTES:
            raise ValueError(f"larger than {MAX_OUTPUT_BYTES // 1024} KiB")
        return loads_bounded(line or ""), None
    except ValueError as exc:
        shown = line if line is None or len(line) <= 200 else f"{line[:200]}…"
        return None, f"output: stdout-json, but the last stdout line is not JSON ({exc}): {shown!r}"
