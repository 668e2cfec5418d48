"""Leases held by remote agents, in this API process's memory.

Each holds the JetStream work message itself, so the API can heartbeat and ack it. An
API that restarts forgets its leases: their messages are redelivered when the bus's
ack wait lapses, and the old holders' reports are refused: 404 (a lapse this process
remembers is a 409).
"""

import asyncio
import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.msg import Msg
from opentelemetry.trace import Span

from execflow_contracts import JobNotFound, JobSignals, LeaseLost, StepWork
from execflow_platform import StepReporter
from execflow_telemetry import tracing

from ..instruments import AGENT_LEASES

REMEMBERED_LAPSES = 10_000


@dataclass
class Lease:
    job_id: str
    token: str
    agent: str
    work: StepWork
    delivery: int
    message: Msg
    started_at: datetime
    deadline: float  # time.monotonic()
    expires_at: datetime
    # Reports and log lines, as a runner sends them (numbered per delivery).
    reporter: StepReporter
    # What the agent must act on; `signalled` wakes its long poll.
    signals: JobSignals = field(default_factory=JobSignals)
    signalled: asyncio.Event = field(default_factory=asyncio.Event)
    # The step's run, in the execution's trace (tracing on): ends with the lease.
    span: Span | None = None

    def end(self, lapsed: bool) -> None:
        AGENT_LEASES.dec()
        if self.span is not None:
            if lapsed:
                tracing.fail(self.span, "the lease lapsed")
            self.span.end()

    def extend(self, lease_s: float) -> None:
        # Set before the bus is told, so this deadline never outlives the bus's ack wait.
        self.deadline = time.monotonic() + lease_s
        self.expires_at = datetime.now(UTC) + timedelta(seconds=lease_s)

    def request_stop(self, reason: str) -> None:
        self.signals = self.signals.model_copy(update={"stop": reason})
        self.signalled.set()

    def give_answer(self, value: Any) -> None:
        self.signals = self.signals.model_copy(update={"answered": True, "answer": value})
        self.signalled.set()


class Leases:
    def __init__(self, lease_s: float) -> None:
        self.lease_s = lease_s
        self._held: dict[str, Lease] = {}
        # Jobs whose lease lapsed, remembered so their late reports are told so (409).
        self._lapsed: OrderedDict[str, datetime] = OrderedDict()

    def grant(
        self,
        agent: str,
        work: StepWork,
        delivery: int,
        message: Msg,
        reporter: StepReporter,
        span: Span | None = None,
    ) -> Lease:
        self._forget_expired()
        now = datetime.now(UTC)
        lease = Lease(
            job_id=uuid.uuid4().hex,
            token=secrets.token_urlsafe(24),
            agent=agent,
            work=work,
            delivery=delivery,
            message=message,
            started_at=now,
            deadline=0.0,
            expires_at=now,
            reporter=reporter,
            span=span,
        )
        lease.extend(self.lease_s)
        self._held[lease.job_id] = lease
        AGENT_LEASES.inc()
        return lease

    def check(self, job_id: str, token: str) -> Lease:
        """The lease if `token` holds it now; else JobNotFound or LeaseLost (fencing)."""
        lease = self._held.get(job_id)
        if lease is None and job_id in self._lapsed:
            raise LeaseLost(
                f"job {job_id}: the lease expired at {self._lapsed[job_id].isoformat()};"
                " the step may run elsewhere"
            )
        if lease is None:
            raise JobNotFound(f"no job {job_id} is leased here (finished, or expired)")
        if not secrets.compare_digest(lease.token, token):
            raise LeaseLost(f"job {job_id}: the lease token does not hold this job")
        if time.monotonic() >= lease.deadline:
            self._lapse(lease)
            return self.check(job_id, token)
        return lease

    def release(self, job_id: str) -> None:
        lease = self._held.pop(job_id, None)
        if lease is not None:
            lease.end(lapsed=False)

    def held(self) -> list[Lease]:
        return list(self._held.values())

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for lease in [lease for lease in self._held.values() if lease.deadline <= now]:
            self._lapse(lease)

    def _lapse(self, lease: Lease) -> None:
        if self._held.pop(lease.job_id, None) is not None:
            lease.end(lapsed=True)
        self._lapsed[lease.job_id] = lease.expires_at
        while len(self._lapsed) > REMEMBERED_LAPSES:
            self._lapsed.popitem(last=False)

    def held_by(self, agent: str) -> int:
        now = time.monotonic()
        return sum(
            1 for lease in self._held.values() if lease.agent == agent and lease.deadline > now
        )
