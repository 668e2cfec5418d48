"""Work for remote agents: leased from the WORK stream, reported as the runners report.

The API takes a queue's work through the same durable consumer as the runners serving
that queue, so a step goes to whichever asks first. The JetStream message's ack wait is
the lease: the API heartbeats it (in-progress) when the agent extends, and acks it once
the finish report is stored. Reports become the runners' commands with `worker` = the
agent's name; the scheduler's attempt and delivery checks refuse stale ones as well.
"""

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext
from pydantic import ValidationError

from execflow_contracts import (
    FACT_KINDS,
    AgentLogLine,
    Command,
    CompleteRequest,
    LogChunk,
    LogLine,
    ReportStepFacts,
    ReportStepFinished,
    ReportStepStarted,
    StepFact,
    StepWork,
    Topology,
    parse_fact,
    progress_report,
    question_report,
)
from execflow_platform import (
    Outgoing,
    dead_letter,
    durable_pull_consumer,
    fetch,
    publish_one,
    pull_subscription,
)

from .leases import Lease, Leases

log = logging.getLogger(__name__)
POLL_S = 0.5


class AgentControl:
    def __init__(self, js: JetStreamContext, topology: Topology, lease_s: float) -> None:
        self._js = js
        self._topology = topology
        self.leases = Leases(lease_s)
        self._subscriptions: dict[str, JetStreamContext.PullSubscription] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def claim(
        self, agent: str, queues: list[str], capacity: int, wait_s: float
    ) -> Lease | None:
        """The first work on `queues` within `wait_s`, leased to `agent`; None if none came
        (or the agent already holds `capacity` jobs)."""
        if self.leases.held_by(agent) >= capacity:
            return None
        deadline = time.monotonic() + wait_s
        while True:
            for queue in queues:
                remaining = deadline - time.monotonic()
                timeout = max(0.05, min(POLL_S, remaining) / len(queues))
                lease = await self._take(agent, queue, timeout)
                if lease is not None:
                    return lease
            if time.monotonic() >= deadline:
                return None

    async def extend(self, job_id: str, token: str) -> Lease:
        lease = self.leases.check(job_id, token)
        lease.extend(self.leases.lease_s)
        await lease.message.in_progress()
        return lease

    async def logs(self, job_id: str, token: str, lines: list[AgentLogLine]) -> None:
        lease = self.leases.check(job_id, token)
        await self._ship(lease, [(line.stream, line.line) for line in lines])

    async def events(self, job_id: str, token: str, raw: list[dict[str, Any]]) -> list[str]:
        """Report the facts; the reasons of those ignored (also logged on the step)."""
        lease = self.leases.check(job_id, token)
        facts: list[StepFact] = []
        ignored: list[str] = []
        for fact in raw:
            try:
                await self._fact(lease, fact, facts)
            except (KeyError, TypeError, ValueError) as exc:
                ignored.append(f"ignored a malformed {fact.get('type')!r} event: {exc}")
        if facts:
            lease.facts_sent += 1
            await self._send(ReportStepFacts(facts=facts, sequence=lease.facts_sent, **_who(lease)))
        if ignored:
            await self._ship(lease, [("stderr", f"execflow: {reason}") for reason in ignored])
        return ignored

    async def complete(self, job_id: str, token: str, report: CompleteRequest) -> None:
        lease = self.leases.check(job_id, token)
        await self._send(
            ReportStepFinished(
                started_at=lease.started_at,
                finished_at=datetime.now(UTC),
                exit_code=report.exit_code,
                error=report.error,
                error_kind=None if report.exit_code is not None else "start",
                output=report.output if report.output is not None else lease.output,
                **_who(lease),
            )
        )
        self.leases.release(job_id)
        await lease.message.ack()  # only now: the finish report is stored

    async def _take(self, agent: str, queue: str, timeout_s: float) -> Lease | None:
        subscription = await self._subscription(queue)
        async with self._locks[queue]:
            messages = await fetch(subscription, 1, timeout_s)
        for message in messages:
            try:
                work = StepWork.model_validate_json(message.data)
            except ValidationError as exc:
                await dead_letter(self._js, self._topology.dead_letter("work"), message, str(exc))
                return None
            lease = self.leases.grant(agent, work, message.metadata.num_delivered, message)
            await message.in_progress()
            await self._send(ReportStepStarted(started_at=lease.started_at, **_who(lease)))
            log.info(
                "job %s (%s/%s) leased to agent %s",
                lease.job_id,
                work.execution_id,
                work.step_id,
                agent,
            )
            return lease
        return None

    async def _subscription(self, queue: str) -> JetStreamContext.PullSubscription:
        if queue not in self._subscriptions:
            self._locks.setdefault(queue, asyncio.Lock())
            config = durable_pull_consumer(
                self._topology.runner_consumer(queue),
                self._topology.work(queue),
                self.leases.lease_s,
            )
            self._subscriptions[queue] = await pull_subscription(
                self._js, self._topology.work_stream, config
            )
        return self._subscriptions[queue]

    async def _fact(self, lease: Lease, fact: dict[str, Any], facts: list[StepFact]) -> None:
        kind = fact["type"]
        if kind == "progress":
            lease.facts_sent += 1
            await self._send(progress_report(fact, lease.facts_sent, **_who(lease)))
        elif kind == "question":
            lease.facts_sent += 1
            await self._send(question_report(fact, lease.facts_sent, **_who(lease)))
        elif kind == "output":
            lease.output = fact.get("value")
        elif kind in FACT_KINDS:
            facts.append(parse_fact(fact))
        else:
            raise ValueError(f"unknown type {kind!r}")

    async def _ship(self, lease: Lease, lines: list[tuple[str, str]]) -> None:
        now = datetime.now(UTC)
        numbered = []
        for stream, text in lines:
            lease.log_seq += 1
            numbered.append(LogLine(seq=lease.log_seq, stream=stream, at=now, text=text))
        chunk = LogChunk(
            execution_id=lease.work.execution_id,
            step_id=lease.work.step_id,
            attempt=lease.work.attempt,
            lines=numbered,
        )
        subject = self._topology.log(chunk.execution_id, chunk.step_id)
        await self._publish(Outgoing(subject, chunk.model_dump_json().encode(), chunk.dedupe_id))

    async def _send(self, command: Command) -> None:
        subject = self._topology.command(command.execution_id, type(command).__name__)
        await self._publish(
            Outgoing(subject, command.model_dump_json().encode(), command.dedupe_id)
        )

    async def _publish(self, outgoing: Outgoing) -> None:
        await (await publish_one(self._js, outgoing))

    async def close(self) -> None:
        """Hand held work back to the bus at once rather than after the lease."""
        for lease in self.leases.held():
            await lease.message.nak()


def _who(lease: Lease) -> dict[str, Any]:
    return {
        "execution_id": lease.work.execution_id,
        "step_id": lease.work.step_id,
        "attempt": lease.work.attempt,
        "delivery": lease.delivery,
        "worker": lease.agent,
        "actor": lease.agent,
    }
