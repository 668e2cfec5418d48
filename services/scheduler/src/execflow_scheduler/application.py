"""The scheduler's application layer: get → call → save, many commands per transaction.

Commands that touch several executions (a retry creates one, a child's end moves its
parent) are applied together and saved in the same transaction.
"""

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, PersistenceError, Recording

from execflow_contracts import (
    AnyCommand,
    CancelExecution,
    CommandOutcome,
    CreateExecution,
    ErrorCode,
    ExecflowError,
    ExecutionNotFound,
    ExecutionStatus,
    FireTimer,
    ReportStepClaimed,
    ReportStepFacts,
    ReportStepFinished,
    ReportStepProgress,
    ReportStepQuestion,
    ReportStepStarted,
    ResumeExecution,
    RetryExecution,
    WorkflowSpec,
    namespace_of,
)
from execflow_telemetry import tracing

from .domain import Execution, events
from .eventsourcing_internals import BinaryInsertRecorder, evict, fenced, stamp_trace

log = logging.getLogger(__name__)

ACCEPTED = CommandOutcome(accepted=True)


class WriterFenced(RuntimeError):
    """Another scheduler has taken over writing: this one must stop."""


def unavailable(exc: Exception) -> bool:
    """The event store (or the database under it) could not be reached or answer: the
    same command may well succeed later. Anything else is the command's own failure.
    A scheduler that has been taken over is told so (WriterFenced)."""
    if fenced(exc) or fenced(exc.__cause__ or exc):
        raise WriterFenced(f"another scheduler has taken over writing: {exc}") from exc
    return isinstance(exc, PersistenceError | psycopg.Error | OSError)


def unapplicable(exc: Exception) -> CommandOutcome:
    reason = f"cannot be applied: {exc!r}"
    return CommandOutcome(accepted=False, code=ErrorCode.UNAPPLICABLE_COMMAND, reason=reason)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Batch:
    """The executions one transaction touches, and the reactions between them."""

    app: "ExecutionsApplication"
    now: datetime
    # Optimistic batches assume a new execution id is new (the bus deduplicates creates);
    # a conflict makes the application retry carefully, checking the store first.
    careful: bool = False
    touched: dict[UUID, Execution] = field(default_factory=dict)
    reacted: dict[UUID, int] = field(default_factory=dict)
    # Loaded since the last `react`: only these can have new events to react to, so a
    # batch of hundreds of commands does not rescan every execution after each one.
    fresh: dict[UUID, None] = field(default_factory=dict)
    # Loaded since the last `stamp`, and how many of each one's events are stamped.
    unstamped: dict[UUID, None] = field(default_factory=dict)
    stamped: dict[UUID, int] = field(default_factory=dict)

    def load(self, execution_id: UUID) -> Execution:
        if execution_id not in self.touched:
            self.touched[execution_id] = self.app.get(execution_id)
        self.fresh[execution_id] = None
        self.unstamped[execution_id] = None
        return self.touched[execution_id]

    def exists(self, execution_id: UUID) -> bool:
        try:
            self.load(execution_id)
        except ExecutionNotFound:
            return False
        return True

    def add(self, execution: Execution) -> None:
        self.touched[execution.id] = execution
        self.fresh[execution.id] = None
        self.unstamped[execution.id] = None

    def stamp(self, traceparent: str | None) -> None:
        """Store the trace of the command just applied with the events it caused (in any
        execution: a child it created, a parent it moved)."""
        touched, self.unstamped = self.unstamped, {}
        if traceparent is None:
            return
        for execution_id in touched:
            events = self.touched[execution_id].pending_events
            for event in events[self.stamped.get(execution_id, 0) :]:
                stamp_trace(event, traceparent)
            self.stamped[execution_id] = len(events)

    def react(self) -> None:
        """Apply what new events mean for other executions, until nothing new happens."""
        for _ in range(100):
            executions = [self.touched[execution_id] for execution_id in self.fresh]
            self.fresh = {}
            fresh = [
                (execution, event)
                for execution in executions
                for event in execution.pending_events[self.reacted.get(execution.id, 0) :]
            ]
            for execution in executions:
                self.reacted[execution.id] = len(execution.pending_events)
            if not fresh:
                return
            for execution, event in fresh:
                react(self, execution, event)
        raise RuntimeError("reactions between executions did not settle")


class ExecutionsApplication(Application[UUID]):
    """Holds the event store; `handle` applies a batch of commands and saves once."""

    name = "execflow"
    clock: Callable[[], datetime] = staticmethod(utc_now)

    def fence(self, epoch: int | None) -> None:
        """Write as the writer of `epoch`: once another scheduler has moved it on, every
        save is refused (WriterFenced)."""
        recorder = self.recorder
        assert isinstance(recorder, BinaryInsertRecorder)
        recorder.fence(epoch)

    def get(self, execution_id: UUID) -> Execution:
        try:
            execution: Execution = self.repository.get(execution_id)
        except AggregateNotFoundError:
            raise ExecutionNotFound(execution_id) from None
        return execution

    def handle(
        self, commands: Sequence[AnyCommand], traces: Sequence[str | None] | None = None
    ) -> tuple[list[Recording[UUID]], list[CommandOutcome]]:
        """Apply and save the whole batch in one transaction; if any command is refused
        or another writer got there first, fall back to one command per transaction so
        that a refusal discards only that command's effects. `traces`: the trace context
        of each command's span, stored with the events it causes (None: tracing is off)."""
        try:
            return self._apply_and_save(commands, traces=traces), [ACCEPTED] * len(commands)
        except (ExecflowError, IntegrityError) as exc:
            log.info("batch of %d fell back to one by one: %s", len(commands), exc)
        except Exception as exc:
            if unavailable(exc):
                raise  # the whole batch comes back
            log.warning("batch of %d fell back to one by one: %r", len(commands), exc)
        recordings: list[Recording[UUID]] = []
        outcomes: list[CommandOutcome] = []
        for i, command in enumerate(commands):
            trace = [traces[i]] if traces is not None else None
            try:
                recordings += self._apply_and_save([command], careful=True, traces=trace)
            except ExecflowError as exc:
                log.info("refused %s for %s: %s", command.type, command.execution_id, exc)
                outcomes.append(CommandOutcome(accepted=False, code=exc.code, reason=str(exc)))
                continue
            except IntegrityError:
                recordings += self._apply_and_save([command], careful=True, traces=trace)
            except Exception as exc:
                if unavailable(exc):
                    raise
                # Alone, with the store answering: it would fail at every delivery, and
                # the commands batched with it would come back with it each time.
                log.exception("%s for %s cannot be applied", command.type, command.execution_id)
                outcomes.append(unapplicable(exc))
                continue
            outcomes.append(ACCEPTED)
        return recordings, outcomes

    def _apply_and_save(
        self,
        commands: Sequence[AnyCommand],
        careful: bool = False,
        traces: Sequence[str | None] | None = None,
    ) -> list[Recording[UUID]]:
        batch = Batch(self, self.clock(), careful)
        try:
            for i, command in enumerate(commands):
                HANDLERS[type(command)](batch, command)
                batch.react()
                if traces is not None:
                    batch.stamp(traces[i])
            with stored_span(traces):
                recordings = self.save(*batch.touched.values())
        except Exception:
            # Cached aggregates may hold events that were never saved.
            for execution_id in batch.touched:
                self._evict(execution_id)
            raise
        # The cache is for executions in flight: a finished one is seldom touched again
        # (a retry, a late report), and replaying it then is cheap. Memory stays bounded
        # by what runs, not by what ran.
        for execution in batch.touched.values():
            if execution.status.is_terminal:
                self._evict(execution.id)
        return recordings

    def _evict(self, execution_id: UUID) -> None:
        evict(self.repository, execution_id)


@contextmanager
def stored_span(traces: Sequence[str | None] | None) -> Iterator[None]:
    """With tracing on, an `events stored` span for each trace of the batch's commands:
    one save, seen from each trace that rode in it."""
    if traces is None:
        yield
        return
    started = time.time_ns()
    yield
    ended = time.time_ns()
    for parent in dict.fromkeys(t for t in traces if t is not None):
        tracing.record(
            "events stored",
            parent,
            started,
            ended,
            attributes={"db.system.name": "postgresql", "execflow.batch.commands": len(traces)},
        )


# -- command handlers ---------------------------------------------------------------


def create(batch: Batch, cmd: CreateExecution) -> None:
    may_exist = batch.careful or cmd.request_hash is not None
    if may_exist and batch.exists(cmd.execution_id):
        # Created already: a re-sent command, or the same Idempotency-Key again.
        batch.load(cmd.execution_id).check_same_request(cmd.request_hash)
        return
    execution = new_execution(
        batch,
        cmd.execution_id,
        cmd.spec,  # a registered workflow's is resolved by the consumer first
        cmd.input,
        cmd.metadata,
        actor=cmd.actor,
        namespace=cmd.namespace,
        request_hash=cmd.request_hash,
        workflow_id=cmd.workflow_id,
        workflow_version=cmd.workflow_version,
        priority=cmd.priority,
    )
    execution.start(batch.now, {}, None)


def new_execution(
    batch: Batch,
    execution_id: UUID,
    workflow: WorkflowSpec,
    input: Any,
    metadata: dict[str, Any],
    **links: Any,
) -> Execution:
    overall = workflow.timeout.overall
    execution = Execution(
        execution_id=execution_id,
        workflow=workflow.model_dump(mode="json", by_alias=True),
        input=input,
        metadata=metadata,
        timeout_at=batch.now + timedelta(seconds=overall) if overall else None,
        **{"actor": "scheduler"} | links,
    )
    batch.add(execution)
    return execution


def owned(batch: Batch, cmd: AnyCommand) -> Execution:
    """The execution a command is about, if the command's namespace may touch it: for
    a key of another namespace it does not exist. (A service's command names none.)"""
    execution = batch.load(cmd.execution_id)
    if cmd.namespace is not None and namespace_of(execution.namespace) != cmd.namespace:
        raise ExecutionNotFound(cmd.execution_id)
    return execution


def cancel(batch: Batch, cmd: CancelExecution) -> None:
    owned(batch, cmd).cancel(cmd.reason, cmd.actor, batch.now)


def resume(batch: Batch, cmd: ResumeExecution) -> None:
    owned(batch, cmd).resume(cmd.step_id, cmd.input, cmd.actor, batch.now)


def retry(batch: Batch, cmd: RetryExecution) -> None:
    original = owned(batch, cmd)
    if batch.exists(cmd.new_execution_id):
        return  # a re-sent command
    reused = original.reusable_outputs(cmd.from_step) if cmd.from_step else {}
    original.mark_retried(cmd.new_execution_id, cmd.from_step, batch.now)
    execution = new_execution(
        batch,
        cmd.new_execution_id,
        original.spec,
        original.input,
        original.metadata,
        actor=cmd.actor,
        namespace=original.namespace,
        retry_of=original.id,
        workflow_id=original.workflow_id,
        workflow_version=original.workflow_version,
        priority=original.requested_priority,
    )
    execution.start(batch.now, reused, original.id)


def fire_timer(batch: Batch, cmd: FireTimer) -> None:
    batch.load(cmd.execution_id).fire_timer(cmd.timer, batch.now)


def step_claimed(batch: Batch, cmd: ReportStepClaimed) -> None:
    batch.load(cmd.execution_id).record_step_claimed(cmd.step_id, cmd.attempt, cmd.worker)


def step_started(batch: Batch, cmd: ReportStepStarted) -> None:
    batch.load(cmd.execution_id).record_step_started(
        cmd.step_id,
        cmd.attempt,
        cmd.delivery,
        cmd.worker,
        cmd.started_at,
        cmd.claimed_at,
        now=batch.now,
    )


def step_finished(batch: Batch, cmd: ReportStepFinished) -> None:
    batch.load(cmd.execution_id).record_step_finished(
        cmd.step_id,
        cmd.attempt,
        cmd.delivery,
        cmd.worker,
        cmd.started_at,
        cmd.finished_at,
        cmd.exit_code,
        cmd.error,
        cmd.error_kind,
        cmd.output,
        batch.now,
        cmd.claimed_at,
    )


def step_progress(batch: Batch, cmd: ReportStepProgress) -> None:
    batch.load(cmd.execution_id).record_progress(
        cmd.step_id, cmd.attempt, cmd.current, cmd.max, cmd.message
    )


def step_facts(batch: Batch, cmd: ReportStepFacts) -> None:
    batch.load(cmd.execution_id).record_facts(
        cmd.step_id,
        cmd.attempt,
        cmd.delivery,
        [fact.model_dump(mode="json", exclude_defaults=True) for fact in cmd.facts],
        cmd.sequence,
    )


def step_question(batch: Batch, cmd: ReportStepQuestion) -> None:
    batch.load(cmd.execution_id).ask(
        cmd.step_id, cmd.attempt, cmd.prompt, cmd.input_schema, batch.now
    )


HANDLERS: dict[type[Any], Callable[[Batch, Any], None]] = {
    CreateExecution: create,
    CancelExecution: cancel,
    ResumeExecution: resume,
    RetryExecution: retry,
    FireTimer: fire_timer,
    ReportStepClaimed: step_claimed,
    ReportStepStarted: step_started,
    ReportStepFinished: step_finished,
    ReportStepProgress: step_progress,
    ReportStepQuestion: step_question,
    ReportStepFacts: step_facts,
}


# -- reactions between executions ------------------------------------------------------


def react(batch: Batch, execution: Execution, event: object) -> None:
    if isinstance(event, events.ChildRequested):
        if not batch.exists(event.child_id):
            step = execution.spec.step(event.step_id)
            assert step.workflow is not None
            child = new_execution(
                batch,
                event.child_id,
                step.workflow,
                event.input,
                execution.metadata,
                namespace=execution.namespace,
                parent_id=execution.id,
                parent_step=event.step_id,
            )
            child.start(batch.now, {}, None)
    elif isinstance(event, events.StatusChanged) and execution.parent_id is not None:
        status = ExecutionStatus(event.to_status)
        if status.is_terminal:
            batch.load(execution.parent_id).child_finished(
                execution.id,
                status,
                getattr(event, "output", None),
                getattr(event, "error", None),
                batch.now,
            )
    elif isinstance(event, events.StepStopRequested):
        child_id = execution.steps[event.step_id].child_id
        if child_id is not None and batch.exists(child_id):
            child = batch.load(child_id)
            if not child.status.is_terminal and child.status is not ExecutionStatus.CANCELLING:
                child.cancel(f"parent {execution.id}: {event.reason}", "scheduler", batch.now)
