"""Removes this deployment's containers that no running step owns.

A runner killed hard leaves its containers running. They are reaped:
- by a runner with the same worker id (a restart), at its start and then
  periodically: its containers that none of its running steps owns;
- by any runner of the deployment, once the owner has been gone from the worker
  registry (silent for longer than the TTL) and the container is older than that.
The runner cannot see execution states, so a live runner's own bookkeeping, and the
registry for the dead, stand in for "the execution is finished".
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from docker import DockerClient

from execflow_contracts import WORKER_LABEL

from .backends import AttemptKey, DockerBackend, remove_container

log = logging.getLogger(__name__)

LiveWorkers = Callable[[], Awaitable[set[str]]]


class Reaper:
    def __init__(
        self,
        client: DockerClient,
        backend: DockerBackend,
        live_workers: LiveWorkers,
        orphan_after_s: float,
        interval_s: float,
    ) -> None:
        self._client = client
        self._backend = backend
        self._live_workers = live_workers
        self._orphan_after_s = orphan_after_s
        self._interval_s = interval_s

    async def reap(self) -> list[str]:
        """Remove orphans now; returns their ids."""
        found: list[dict[str, Any]] = await asyncio.to_thread(
            self._client.api.containers, all=True, filters={"label": self._backend.policy.owned()}
        )
        try:
            live: set[str] | None = await self._live_workers()
        except Exception as exc:  # no registry, no judging other runners' containers
            log.warning("worker registry unreadable, reaping only my own: %r", exc)
            live = None
        doomed = [c["Id"] for c in found if self._orphaned(c, live)]
        for container_id in doomed:
            await asyncio.to_thread(remove_container, self._client, container_id)
        if doomed:
            log.info("reaped %d orphaned containers: %s", len(doomed), doomed)
        return doomed

    async def keep_reaping(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.reap()
            except Exception as exc:  # the engine may be back next time; keep the loop
                log.warning("reaping failed: %r", exc)

    def _orphaned(self, container: dict[str, Any], live: set[str] | None) -> bool:
        labels: dict[str, str] = container.get("Labels") or {}
        worker = labels.get(WORKER_LABEL)
        if worker == self._backend.policy.worker_id:
            return not self._backend.owns(AttemptKey.from_labels(labels), container["Id"])
        if live is None or worker in live:
            return False
        return time.time() - float(container.get("Created", 0)) > self._orphan_after_s
