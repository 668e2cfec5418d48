"""The bench's load as a user's service makes it: submitted through `execflow.AsyncClient`
(its httpx pool: as many connections as submits at once), completion seen as a user sees
it (the engine overview's count of completed executions for throughput; each execution's
SSE stream, through `wait`, for latency), the client's own CPU counted apart."""

import asyncio
import time
from typing import Any

import httpx

from execflow import AsyncClient


def chain(kind: str, steps: int) -> dict[str, Any]:
    """S sequential steps: `true` processes, or calls of the worker's `noop`."""
    run = {"command": ["true"]} if kind == "process" else {"function": "noop"}
    ids = [f"s{i}" for i in range(steps)]
    return {
        "workflow": {
            "steps": [{"id": s, "needs": ids[i - 1 : i], "run": run} for i, s in enumerate(ids)]
        }
    }


def client(api: str, connections: int) -> AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return AsyncClient(api, timeout_s=60, limits=limits)


async def completed(api_client: AsyncClient) -> int:
    return (await api_client.overview()).counts["completed"]


async def throughput(api: str, n: int, concurrency: int, body: dict[str, Any]) -> dict[str, Any]:
    gate = asyncio.Semaphore(concurrency)
    async with client(api, concurrency) as api_client:
        before = await completed(api_client)

        async def submit() -> None:
            async with gate:
                await api_client.create_execution(body)

        started = time.perf_counter()
        await asyncio.gather(*(submit() for _ in range(n)))
        submitted = time.perf_counter() - started
        while await completed(api_client) < before + n:  # noqa: ASYNC110 (as a dashboard polls)
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
    return {
        "executions": n,
        "concurrency": concurrency,
        "submit_s": round(submitted, 2),
        "elapsed_s": round(elapsed, 2),
        "executions_per_s": round(n / elapsed, 1),
    }


async def latency(api: str, n: int, body: dict[str, Any]) -> list[float]:
    """Milliseconds from the submit to the completion seen on the execution's stream."""
    times = []
    async with client(api, 2) as api_client:
        for _ in range(n):
            started = time.perf_counter()
            accepted = await api_client.create_execution(body)
            done = await api_client.wait(str(accepted.id))
            if done.status != "completed":
                raise RuntimeError(f"execution {accepted.id} ended {done.status}")
            times.append((time.perf_counter() - started) * 1000)
    return times
