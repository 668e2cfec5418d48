"""Remote agents in the worker registry, beside the runners.

An agent registers (`POST /api/v1/agent-control/agents`) or its first claim registers
it; each call it makes afterwards (claims, lease extensions, reports) refreshes its entry
at most every third of the registry's TTL, with the steps it runs now. An agent that
stops calling disappears after the TTL, as a silent runner does. Entries are written by
whichever API the agent calls: the registry is the bus's, not this process's.
"""

import logging
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

import nats.errors
from nats.js import JetStreamContext
from nats.js.kv import KeyValue
from pydantic import ValidationError

from execflow_contracts import (
    DEFAULT_NAMESPACE,
    AgentRegistration,
    RunningStep,
    Topology,
    WorkerInfo,
    queue_key,
)
from execflow_platform import deregister, ensure_registry, register

log = logging.getLogger(__name__)


def agent_id(namespace: str, name: str) -> str:
    """An agent in the registry, in its leases and in the steps it reports: named within
    its token's namespace, so that two tenants' agents `a1` are two agents."""
    return name if namespace == DEFAULT_NAMESPACE else f"{namespace}.{name}"


class AgentRegistry:
    def __init__(
        self,
        js: JetStreamContext,
        topology: Topology,
        ttl_s: float,
        running: Callable[[str], list[RunningStep]],
    ) -> None:
        self._js = js
        self._topology = topology
        self._ttl_s = ttl_s
        self._running = running
        self._kv: KeyValue | None = None
        self._agents: dict[str, WorkerInfo] = {}
        self._written: dict[str, float] = {}  # time.monotonic() of each agent's last write

    async def register(
        self, registration: AgentRegistration, host: str | None, namespace: str
    ) -> WorkerInfo:
        """List `namespace`'s agent (its token's namespace) with its queues."""
        now = datetime.now(UTC)
        info = WorkerInfo(
            id=agent_id(namespace, registration.name),
            host=registration.host or host or socket.gethostname(),
            pid=registration.pid,
            queues=[queue_key(namespace, queue) for queue in registration.queues],
            backends=["process"],
            capacity=registration.capacity,
            started_at=now,
            last_heartbeat=now,
            kind="agent",
            labels=registration.labels,
        )
        self._agents[info.id] = info
        return await self._write(info.id)

    async def claiming(
        self, namespace: str, agent: str, queues: list[str], capacity: int, host: str | None
    ) -> None:
        """`namespace`'s agent (by name) asks for work on its `queues` (by name):
        registered if it is new here, else refreshed."""
        if agent_id(namespace, agent) in self._agents:
            await self.seen(agent_id(namespace, agent))
            return
        try:
            registration = AgentRegistration(name=agent, queues=queues, capacity=capacity)
        except ValidationError:
            log.warning("agent %r cannot be listed: its name is not a registry key", agent)
            return
        await self.register(registration, host, namespace)

    async def seen(self, agent: str, changed: bool = False) -> None:
        """The agent called: its entry is refreshed if a third of the TTL has passed, or
        at once if what it runs `changed`."""
        last = self._written.get(agent)
        due = last is None or time.monotonic() - last >= self._ttl_s / 3
        if agent in self._agents and (due or changed):
            await self._write(agent)

    async def leave(self, agent: str) -> bool:
        """Gone at once, rather than after the TTL; False if it was not registered here."""
        known = self._agents.pop(agent, None) is not None
        self._written.pop(agent, None)
        try:
            await deregister(await self._bucket(), agent)
        except (nats.errors.Error, TimeoutError) as exc:
            log.warning("agent %s: registry delete failed (its entry lapses): %r", agent, exc)
        return known

    async def _write(self, agent: str) -> WorkerInfo:
        """The agent's entry as written now."""
        info = self._agents[agent].model_copy(
            update={"running": self._running(agent), "last_heartbeat": datetime.now(UTC)}
        )
        try:
            await register(await self._bucket(), info)
        except (nats.errors.Error, TimeoutError) as exc:
            log.warning("agent %s: registry write failed: %r", agent, exc)  # next call retries
            return info
        self._written[agent] = time.monotonic()
        return info

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await ensure_registry(self._js, self._topology, self._ttl_s)
        return self._kv
