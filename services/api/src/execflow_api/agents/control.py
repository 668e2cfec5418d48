"""Work for remote agents: leased from the WORK stream, reported as the runners report.

The API takes a queue's work through the same durable consumer as the runners serving
that queue, so a step goes to whichever asks first. The JetStream message's ack wait is
the lease: the API heartbeats it (in-progress) when the agent extends, and acks it once
the finish report is stored. Reports become the runners' commands with `worker` = the
agent's name; the scheduler's attempt and delivery checks refuse stale ones as well.

Stop requests and answers to questions arrive as events, as they do at runners; the
agent learns of them from its job's signals (a long poll) or its next lease extension.
Files its step declared are uploaded here when it ends, and stored as a runner would.
"""

import asyncio
import contextlib
import logging
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from execflow_contracts import (
    AgentLogLine,
    ArtifactTooLarge,
    CompleteRequest,
    InputProvided,
    JobSignals,
    ReportStepFinished,
    RunningStep,
    SecretNotFound,
    SecretsUnavailable,
    StepFact,
    StepStopRequested,
    StepWork,
    Topology,
    queue_key,
)
from execflow_platform import (
    ArtifactStore,
    StepControls,
    StepReporter,
    StreamKeeper,
    attempt_over,
    dead_letter,
    fetch,
    pull_subscription,
    work_consumer,
)
from execflow_telemetry import steps, tracing

from .leases import Lease, Leases
from .registry import AgentRegistry, agent_id

log = logging.getLogger(__name__)
# How long a claim waits for the start to carry it: the start follows at once.
CLAIM_HOLD_S = 1.0
POLL_S = 0.5

# The values of the secrets a step's env names (variable → value), opened as it is claimed.
SecretsOf = Callable[[StepWork], Awaitable[dict[str, str]]]


async def no_secrets(work: StepWork) -> dict[str, str]:
    if work.run.secret_env:
        raise SecretsUnavailable("this API cannot open secrets")
    return {}


class AgentControl:
    def __init__(
        self,
        nc: Client,
        topology: Topology,
        lease_s: float,
        artifacts: ArtifactStore,
        artifact_max_bytes: int,
        worker_ttl_s: float,
        secrets_of: SecretsOf = no_secrets,
    ) -> None:
        self._nc = nc
        self._secrets_of = secrets_of
        self._artifacts = artifacts
        self._artifact_max_bytes = artifact_max_bytes
        self._js = nc.jetstream()
        self._topology = topology
        self.leases = Leases(lease_s)
        self._subscriptions: dict[str, JetStreamContext.PullSubscription] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._controls = StepControls(self._stop, self._answer)
        self.registry = AgentRegistry(self._js, topology, worker_ttl_s, self._running_of)
        self._keeper = StreamKeeper(self._js, topology)
        self._moved_on = self._keeper.moved_on()
        self._stopping = asyncio.Event()
        self._background: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Follow stop requests and answers, to pass them on to the agents; keep the
        streams (and bind the queues' consumers again if their stream is made anew)."""
        await self._keeper.check()
        self._background = [
            asyncio.create_task(self._keeper.run(self._stopping)),
            asyncio.create_task(
                self._controls.keep_following(
                    self._nc, self._topology, self._keeper, self._stopping
                )
            ),
        ]

    async def claim(
        self,
        namespace: str,
        name: str,
        queues: list[str],
        capacity: int,
        wait_s: float,
        host: str | None = None,
    ) -> Lease | None:
        """The first work on `namespace`'s `queues` (by name) within `wait_s`, leased to
        its agent `name`; None if none came (or the agent already holds `capacity` jobs)."""
        await self.registry.claiming(namespace, name, queues, capacity, host)
        agent = agent_id(namespace, name)
        queues = [queue_key(namespace, queue) for queue in queues]
        if self.leases.held_by(agent) >= capacity:
            return None
        deadline = time.monotonic() + wait_s
        while True:
            await self.registry.seen(agent)  # a long poll keeps its entry alive
            for queue in queues:
                remaining = deadline - time.monotonic()
                timeout = max(0.05, min(POLL_S, remaining) / len(queues))
                lease = await self._take(agent, queue, timeout)
                if lease is not None:
                    await self.registry.seen(agent, changed=True)
                    return lease
            if time.monotonic() >= deadline:
                return None

    async def extend(self, job_id: str, token: str) -> Lease:
        lease = await self._check(job_id, token)
        lease.extend(self.leases.lease_s)
        await lease.message.in_progress()
        return lease

    async def signals(self, job_id: str, token: str, wait_s: float) -> JobSignals:
        """The job's signals, waiting up to `wait_s` for one if there is none yet."""
        lease = await self._check(job_id, token)
        if lease.signals.stop is None and not lease.signals.answered and wait_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lease.signalled.wait(), wait_s)
            lease = self.leases.check(job_id, token)  # it may have lapsed meanwhile
        return lease.signals

    async def logs(self, job_id: str, token: str, lines: list[AgentLogLine]) -> None:
        reporter = (await self._check(job_id, token)).reporter
        for line in lines:
            reporter.logs.add(line.stream, line.line)
        await reporter.logs.drain()

    async def events(self, job_id: str, token: str, raw: list[dict[str, Any]]) -> list[str]:
        """Report the facts; the reasons of those ignored (also logged on the step)."""
        reporter = (await self._check(job_id, token)).reporter
        ignored: list[str] = []
        for fact in raw:
            try:
                reporter.fact(fact)
            except (KeyError, TypeError, ValueError) as exc:
                ignored.append(f"ignored a malformed {fact.get('type')!r} event: {exc}")
        for reason in ignored:
            reporter.logs.add("stderr", f"execflow: {reason}")
        await reporter.drain()
        return ignored

    async def store_artifact(
        self,
        job_id: str,
        token: str,
        declared: StepFact,
        content: AsyncIterator[bytes],
        refused: str | None = None,
    ) -> StepFact:
        """Store a file the job's step declared and report it, as a runner does: `stored`,
        or `refused` with the reason (one the agent gives, or the size limit's)."""
        lease = await self._check(job_id, token)
        work = lease.work
        key = ArtifactStore.key(work.execution_id, work.step_id, work.attempt, declared.name)
        size, too_large = 0, False
        if refused is None:
            with tempfile.TemporaryDirectory(prefix="execflow-upload-") as folder:
                local = Path(folder) / "upload"
                size = await _spool(content, local, self._artifact_max_bytes)
                too_large = size > self._artifact_max_bytes
                if too_large:
                    refused = (
                        f"{declared.path}: over the artifact size limit of"
                        f" {self._artifact_max_bytes} bytes (EXECFLOW_ARTIFACT_MAX_BYTES)"
                    )
                else:
                    await asyncio.to_thread(self._artifacts.put, local, key)
        outcome: dict[str, Any] = {"status": "refused", "error": refused}
        if refused is None:
            outcome = {"status": "stored", "key": key, "size": size}
        fact = declared.model_copy(update={"kind": "artifact", "at": datetime.now(UTC)} | outcome)
        lease.reporter.add_fact(fact)
        await lease.reporter.drain()
        if too_large:
            raise ArtifactTooLarge(fact.error or "")
        return fact

    async def complete(self, job_id: str, token: str, report: CompleteRequest) -> None:
        lease = await self._check(job_id, token)
        error, error_kind = report.error, None
        if report.exit_code is None:
            error_kind = "start"
        elif report.exit_code < 0:  # killed by a signal, as a runner reports it
            error_kind = "signal"
            error = error or f"killed by {_signal_name(-report.exit_code)}"
        reporter = lease.reporter
        await reporter.logs.close()  # says what its cap dropped, if anything
        reporter.send(
            ReportStepFinished(
                started_at=lease.started_at,
                namespace=lease.work.namespace,
                finished_at=datetime.now(UTC),
                exit_code=report.exit_code,
                error=error,
                error_kind=error_kind,
                output=report.output if report.output is not None else reporter.output,
                **reporter.identity(),
            )
        )
        await reporter.drain()
        if lease.span is not None:
            lease.span.set_attribute("process.exit.code", report.exit_code or 0)
        self.leases.release(job_id)
        await lease.message.ack()  # only now: the finish report is stored
        await self.registry.seen(lease.agent, changed=True)

    async def _check(self, job_id: str, token: str) -> Lease:
        """The job's lease, if the token holds it; its agent has been seen."""
        lease = self.leases.check(job_id, token)
        await self.registry.seen(lease.agent)
        return lease

    def _running_of(self, agent: str) -> list[RunningStep]:
        return [
            RunningStep(
                execution_id=lease.work.execution_id,
                step_id=lease.work.step_id,
                attempt=lease.work.attempt,
                backend="process",
                started_at=lease.started_at,
            )
            for lease in self.leases.held()
            if lease.agent == agent
        ]

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
            stopped = self._controls.stop_reason(work.execution_id, work.step_id, work.attempt)
            if stopped is None and message.metadata.num_delivered > 1:
                # Delivered again: the agent before may have finished it after all.
                stopped = await attempt_over(self._js, self._topology, work)
            if stopped is not None:
                log.info("not handing out %s/%s: %s", work.execution_id, work.step_id, stopped)
                await message.ack()
                return None
            delivery = message.metadata.num_delivered
            try:
                values = await self._secrets_of(work)  # as it starts, as on a runner
            except (SecretNotFound, SecretsUnavailable) as exc:
                await self._fail_to_start(message, work, delivery, agent, str(exc))
                return None
            span = steps.start_run(message, work, agent, agent=True)
            with tracing.current(span):  # the reports continue the step's trace
                reporter = StepReporter(self._js, self._topology, work, delivery, agent)
            reporter.masking(list(values.values()))
            lease = self.leases.grant(agent, work, delivery, message, reporter, span)
            lease.secrets = values
            await message.in_progress()
            # An agent starts the step as it claims it: taken and started in one report.
            reporter.claimed(lease.started_at, hold_s=CLAIM_HOLD_S)
            reporter.started(lease.started_at)
            await reporter.drain()
            log.info(
                "job %s (%s/%s) leased to agent %s",
                lease.job_id,
                work.execution_id,
                work.step_id,
                agent,
            )
            return lease
        return None

    async def _fail_to_start(
        self, message: Msg, work: StepWork, delivery: int, agent: str, reason: str
    ) -> None:
        """The step cannot start (a secret it names is missing): it fails, as on a runner."""
        log.warning("%s/%s cannot start: %s", work.execution_id, work.step_id, reason)
        reporter = StepReporter(self._js, self._topology, work, delivery, agent)
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

    async def _subscription(self, queue: str) -> JetStreamContext.PullSubscription:
        if self._moved_on():
            self._moved_on = self._keeper.moved_on()
            self._subscriptions.clear()
        if queue not in self._subscriptions:
            self._locks.setdefault(queue, asyncio.Lock())
            config = work_consumer(self._topology, queue, self.leases.lease_s)
            self._subscriptions[queue] = await pull_subscription(
                self._js, self._topology.work_stream, config
            )
        return self._subscriptions[queue]

    def _stop(self, event: StepStopRequested) -> None:
        for lease in self._leases_of(event.execution_id, event.step_id, event.attempt):
            log.info("job %s: stop requested: %s", lease.job_id, event.reason)
            lease.request_stop(event.reason)

    def _answer(self, event: InputProvided) -> None:
        for lease in self._leases_of(event.execution_id, event.step_id):
            lease.give_answer(event.value)

    def _leases_of(
        self, execution_id: UUID, step_id: str, attempt: int | None = None
    ) -> list[Lease]:
        return [
            lease
            for lease in self.leases.held()
            if lease.work.execution_id == execution_id
            and lease.work.step_id == step_id
            and attempt in (None, lease.work.attempt)
        ]

    async def close(self) -> None:
        """Hand held work back to the bus at once rather than after the lease."""
        self._stopping.set()
        await asyncio.gather(*self._background, return_exceptions=True)
        with contextlib.suppress(Exception):  # the bus is away: the ack wait hands it back
            for lease in self.leases.held():
                await lease.message.nak()


async def _spool(content: AsyncIterator[bytes], local: Path, max_bytes: int) -> int:
    """Write the upload to `local`; its size, or the first size over `max_bytes` (the
    rest is not read)."""
    size = 0
    with local.open("wb") as spool:
        async for chunk in content:
            size += len(chunk)
            if size > max_bytes:
                break
            spool.write(chunk)  # a local temporary file: page cache, no wait worth a thread
    return size


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
