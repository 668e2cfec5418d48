"""execflow for a FastStream app on the same NATS: send commands (a create may name a
registered workflow by id), wait for the scheduler's verdict, and handle events with
typed handlers.

    broker = NatsBroker(url)
    execflow = Execflow(broker)             # before the broker starts: it subscribes

    @execflow.on(ExecutionCompleted, durable="billing")
    async def completed(event: ExecutionCompleted) -> None: ...

    async with broker:
        await execflow.request(CreateExecution(execution_id=uuid4(), workflow_id="build"))
"""

import asyncio
import typing
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub

from execflow_contracts import (
    MSG_ID_HEADER,
    REPLY_TO_HEADER,
    AnyCommand,
    Command,
    CommandOutcome,
    ExecutionEvent,
    Topology,
    refusal,
)

from . import subjects

# Every command the scheduler reads, from the contracts' union of them.
COMMAND_CLASSES: tuple[type[Command], ...] = typing.get_args(typing.get_args(AnyCommand)[0])
PUBLISH_TIMEOUT_S = 5.0
VERDICT_TIMEOUT_S = 5.0

H = TypeVar("H", bound=Callable[..., Any])


class Execflow:
    def __init__(self, broker: NatsBroker, topology: Topology | None = None) -> None:
        self.broker = broker
        self.topology = topology or Topology()
        # Verdicts come to one subscription of this client's, each to its own subject.
        self._replies = f"_INBOX.execflow.{uuid.uuid4().hex}"
        self._waiting: dict[str, asyncio.Future[CommandOutcome]] = {}
        broker.subscriber(f"{self._replies}.*", include_in_schema=False)(self._verdict)

    async def send(self, command: Command, headers: dict[str, str] | None = None) -> None:
        """Store the command on the bus: once this returns, the scheduler will apply it.
        Its `Nats-Msg-Id` is its identity, so sending it again is harmless."""
        await self.broker.publish(
            command.model_dump_json().encode(),
            self.topology.command(command.execution_id, type(command).__name__),
            headers={MSG_ID_HEADER: command.dedupe_id, **(headers or {})},
            stream=self.topology.commands_stream,
            timeout=PUBLISH_TIMEOUT_S,
        )

    async def request(
        self, command: Command, timeout_s: float = VERDICT_TIMEOUT_S
    ) -> CommandOutcome | None:
        """Send, and wait for the scheduler's verdict: the outcome if accepted, None if
        none came in time (the command is stored all the same, and will be applied);
        a refusal raises its ExecflowError (WorkflowNotFound, InvalidInput, …)."""
        token = uuid.uuid4().hex
        verdict: asyncio.Future[CommandOutcome] = asyncio.get_running_loop().create_future()
        self._waiting[token] = verdict
        try:
            await self.send(command, {REPLY_TO_HEADER: f"{self._replies}.{token}"})
            outcome = await asyncio.wait_for(verdict, timeout_s)
        except TimeoutError:
            return None
        finally:
            self._waiting.pop(token, None)
        if not outcome.accepted:
            raise refusal(outcome.code, outcome.reason)
        return outcome

    def on(
        self,
        *events: type[ExecutionEvent],
        execution_id: UUID | None = None,
        durable: str | None = None,
    ) -> Callable[[H], H]:
        """Handle these events (of every execution, or of one) with a typed handler.

        Without `durable`, a plain subscription: the events from now on, while this app
        runs. With it, a durable JetStream consumer per event type (`<durable>-<type>`):
        nothing is missed across restarts; an event is acked once its handler returns,
        and comes back if the handler raises (`AckPolicy.NACK_ON_ERROR`)."""

        def subscribe(handler: H) -> H:
            for event in events:
                subject = (
                    subjects.event(self.topology, event.__name__)
                    if execution_id is None
                    else self.topology.event(execution_id, event.__name__)
                )
                if durable is None:
                    self.broker.subscriber(subject, title=f"on {event.__name__}")(handler)
                else:
                    self.broker.subscriber(
                        subject,
                        stream=JStream(self.topology.events_stream, declare=False),
                        durable=f"{durable}-{event.__name__}",
                        pull_sub=PullSub(batch_size=16, timeout=1.0),
                        ack_policy=AckPolicy.NACK_ON_ERROR,
                        title=f"on {event.__name__} ({durable})",
                    )(handler)
            return handler

        return subscribe

    async def _verdict(self, outcome: CommandOutcome, message: NatsMessage) -> None:
        token = message.raw_message.subject.rsplit(".", 1)[-1]
        waiting = self._waiting.get(token)
        if waiting is not None and not waiting.done():
            waiting.set_result(outcome)
