"""The scheduler's application layer: get → call → save, many commands per transaction."""

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Recording

from execflow_contracts import (
    AnyCommand,
    CreateExecution,
    ExecflowError,
    ExecutionNotFound,
    ReportStepFinished,
    ReportStepStarted,
)

from .domain import Execution

log = logging.getLogger(__name__)


class ExecutionsApplication(Application[UUID]):
    """Holds the event store; `handle` applies a batch of commands and saves once."""

    name = "execflow"

    def handle(self, commands: Sequence[AnyCommand]) -> list[Recording[UUID]]:
        """Apply and save the whole batch in one transaction; if any command is refused
        or another writer got there first, fall back to one command per transaction so
        that a refusal discards only that command's effects."""
        try:
            return self._apply_and_save(commands)
        except (ExecflowError, IntegrityError) as exc:
            log.info("batch of %d fell back to one by one: %s", len(commands), exc)
        recordings: list[Recording[UUID]] = []
        for command in commands:
            try:
                recordings += self._apply_and_save([command])
            except ExecflowError as exc:
                log.warning("refused %s for %s: %s", command.type, command.execution_id, exc)
            except IntegrityError:
                recordings += self._apply_and_save([command])  # reloaded after eviction
        return recordings

    def _apply_and_save(self, commands: Sequence[AnyCommand]) -> list[Recording[UUID]]:
        touched: dict[UUID, Execution] = {}
        try:
            for command in commands:
                execution = HANDLERS[type(command)](self, touched, command)
                if execution is not None:
                    touched[execution.id] = execution
            return self.save(*touched.values())
        except Exception:
            # Cached aggregates may hold events that were never saved.
            for execution_id in touched:
                self._evict(execution_id)
            raise

    def load(self, touched: dict[UUID, Execution], execution_id: UUID) -> Execution:
        if execution_id in touched:
            return touched[execution_id]
        try:
            execution: Execution = self.repository.get(execution_id)
        except AggregateNotFoundError:
            raise ExecutionNotFound(execution_id) from None
        return execution

    def _evict(self, execution_id: UUID) -> None:
        cache = self.repository.cache
        if cache is not None:
            with contextlib.suppress(KeyError):
                cache.get(execution_id, evict=True)


def create(
    app: ExecutionsApplication, touched: dict[UUID, Execution], cmd: CreateExecution
) -> Execution | None:
    try:
        app.load(touched, cmd.execution_id)
        return None  # created already: a re-sent command changes nothing
    except ExecutionNotFound:
        pass
    execution = Execution(
        execution_id=cmd.execution_id,
        workflow=cmd.workflow.model_dump(mode="json"),
        input=cmd.input,
        metadata=cmd.metadata,
        actor=cmd.actor,
    )
    execution.advance()
    return execution


def step_started(
    app: ExecutionsApplication, touched: dict[UUID, Execution], cmd: ReportStepStarted
) -> Execution:
    execution = app.load(touched, cmd.execution_id)
    execution.record_step_started(cmd.step_id, cmd.attempt, cmd.worker, cmd.started_at)
    return execution


def step_finished(
    app: ExecutionsApplication, touched: dict[UUID, Execution], cmd: ReportStepFinished
) -> Execution:
    execution = app.load(touched, cmd.execution_id)
    execution.record_step_finished(
        cmd.step_id,
        cmd.attempt,
        cmd.worker,
        cmd.started_at,
        cmd.finished_at,
        cmd.exit_code,
        cmd.error,
    )
    return execution


HANDLERS: dict[type[Any], Callable[..., Execution | None]] = {
    CreateExecution: create,
    ReportStepStarted: step_started,
    ReportStepFinished: step_finished,
}
