"""Sending commands: stored on the bus before the API answers.

Commands whose refusal the client must hear about (cancel, resume, retry, a create
with an Idempotency-Key) wait briefly for the scheduler's outcome; if it does not
come in time the command is still stored and will be applied, so the answer is 202.
"""

import asyncio

import nats.errors
from fastapi import HTTPException, status
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from execflow_contracts import (
    MSG_ID_HEADER,
    REPLY_TO_HEADER,
    Command,
    CommandOutcome,
    CreateExecution,
    refusal,
)
from execflow_platform import command_limit, command_message
from execflow_telemetry import tracing

from .auth.retention import with_retention
from .instruments import COMMANDS_SENT
from .state import Services

PUBLISH_TIMEOUT_S = 5.0
OUTCOME_TIMEOUT_S = 5.0


async def send(svc: Services, command: Command) -> None:
    await _publish(svc, command, {})


async def send_and_wait(
    svc: Services, command: Command, within_s: float = OUTCOME_TIMEOUT_S
) -> CommandOutcome | None:
    """Send, then wait for the outcome: raises the refusal as its ExecflowError;
    None if the scheduler did not answer within `within_s`."""
    inbox = svc.nc.new_inbox()
    subscription = await svc.nc.subscribe(inbox, max_msgs=1)
    try:
        await _publish(svc, command, {REPLY_TO_HEADER: inbox})
        try:
            reply = await subscription.next_msg(timeout=within_s)
        except TimeoutError:
            return None
    finally:
        await subscription.unsubscribe()
    try:
        outcome = CommandOutcome.model_validate_json(reply.data)
    except ValidationError:
        return None
    if not outcome.accepted:
        raise refusal(outcome.code, outcome.reason)
    return outcome


async def _publish(svc: Services, command: Command, headers: dict[str, str]) -> None:
    # Every command says whose it is and who sent it: the execution's namespace is
    # checked by the scheduler, and the key's id is the actor of the events it causes.
    caller = svc.caller
    stamp = {"namespace": caller.namespace}
    if caller.key_id is not None:
        stamp["actor"] = caller.actor
    command = command.model_copy(update=stamp)
    if isinstance(command, CreateExecution):
        command = await with_retention(svc.pool, command, caller.namespace)
    # A command about an execution that exists (a cancel, an answer, a retry) continues
    # the execution's trace, linked to the request that sent it; a create starts its
    # trace under the request's span.
    stored = await execution_trace(svc, command)
    with tracing.span(
        f"send {type(command).__name__}",
        stored,
        SpanKind.PRODUCER,
        {"messaging.system": "nats", "execflow.execution_id": str(command.execution_id)},
        links=[t for t in [tracing.current_traceparent()] if t and stored],
    ):
        traced = tracing.headers(tracing.current_traceparent())
        await _publish_traced(svc, command, headers | traced if traced else headers)


async def execution_trace(svc: Services, command: Command) -> str | None:
    """The trace context the command's execution was created with (tracing on)."""
    if not tracing.enabled() or isinstance(command, CreateExecution):
        return None
    async with svc.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT traceparent FROM executions WHERE id = %s", (command.execution_id,)
        )
        row = await cursor.fetchone()
    return row[0] if row is not None else None


async def _publish_traced(svc: Services, command: Command, headers: dict[str, str]) -> None:
    message = command_message(svc.topology, command)
    limit = command_limit(svc.nc)
    if len(message.payload) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"the request takes {len(message.payload)} bytes as a command; at most {limit} fit",
        )
    try:
        async with asyncio.timeout(PUBLISH_TIMEOUT_S):
            await svc.js.publish(
                message.subject,
                message.payload,
                headers={MSG_ID_HEADER: message.msg_id, **headers},
            )
    except (TimeoutError, nats.errors.Error) as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the command bus is unavailable: {exc!r}"
        ) from None
    COMMANDS_SENT.labels(type(command).__name__).inc()
