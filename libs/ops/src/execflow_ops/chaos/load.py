"""The load of a chaos run: executions of three short steps submitted at a steady
rate, each with its own Idempotency-Key and sent again until it is accepted (the API,
NATS or PostgreSQL may be down at that moment: the key makes a resend the same
execution). Every step appends a line to a ledger file, and records in it whether
another run of the same step was still alive when it began."""

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from execflow_contracts import TERMINAL_EXECUTION_STATUSES
from execflow_devstack import StackConfig

# A line per finished run: execution, step, attempt, pid, start, end. A run that finds
# the step's lock held by a live run of the same step writes `concurrent` instead.
STEP_SCRIPT = r"""
exec 9>"$EXECFLOW_WORKSPACE/$EXECFLOW_STEP_ID.lock"
who="$EXECFLOW_EXECUTION_ID,$EXECFLOW_STEP_ID,$EXECFLOW_ATTEMPT,$$"
if ! flock -n 9; then echo "$who,concurrent,concurrent" >> "$LEDGER"; exit 3; fi
start=$(date +%s.%N)
sleep "$STEP_SLEEP"
echo "$who,$start,$(date +%s.%N)" >> "$LEDGER"
"""


def workflow(ledger: Path, steps: int, step_sleep_s: float) -> dict[str, Any]:
    env = {"LEDGER": str(ledger), "STEP_SLEEP": str(step_sleep_s)}
    return {
        "steps": [
            {
                "id": f"s{i}",
                "needs": [f"s{i - 1}"] if i else [],
                "run": {"command": ["sh", "-c", STEP_SCRIPT], "env": env},
            }
            for i in range(steps)
        ]
    }


@dataclass
class Submitted:
    accepted: dict[str, str] = field(default_factory=dict)  # key → execution id
    resends: int = 0
    submit_s: list[float] = field(default_factory=list)  # from first try to accepted


async def submit_at_rate(
    api: StackConfig, body: dict[str, Any], count: int, rate: float, prefix: str = "chaos"
) -> Submitted:
    """POST `count` executions, `rate` a second, each until accepted."""
    submitted = Submitted()
    async with httpx.AsyncClient(base_url=api.api_url, timeout=10, headers=api.api_headers) as http:
        tasks = []
        started = time.monotonic()
        for i in range(count):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            key = f"{prefix}-{i}"
            tasks.append(asyncio.create_task(_submit(http, body, key, submitted)))
        await asyncio.gather(*tasks)
    return submitted


async def _submit(http: httpx.AsyncClient, body: dict[str, Any], key: str, into: Submitted) -> None:
    first = time.monotonic()
    delay = 0.2
    while True:
        try:
            response = await http.post(
                "/api/v1/executions", json=body, headers={"Idempotency-Key": key}
            )
            if response.status_code == 202:
                into.accepted[key] = response.json()["id"]
                into.submit_s.append(time.monotonic() - first)
                return
        except httpx.HTTPError:
            pass
        into.resends += 1
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 2.0)


def statuses(api: StackConfig, ids: list[str]) -> dict[str, str]:
    """Each execution's status as the API reads it (`unknown` if it has none yet)."""
    found: dict[str, str] = {}
    with httpx.Client(base_url=api.api_url, timeout=30, headers=api.api_headers) as http:
        for execution_id in ids:
            try:
                response = http.get(f"/api/v1/executions/{execution_id}")
                found[execution_id] = (
                    response.json()["status"] if response.status_code == 200 else "unknown"
                )
            except httpx.HTTPError:
                found[execution_id] = "unknown"
    return found


def wait_all_ended(api: StackConfig, ids: list[str], timeout_s: float) -> dict[str, str]:
    """Poll until every execution has ended (or the time is up); their last statuses."""
    deadline = time.monotonic() + timeout_s
    pending = list(ids)
    ended: dict[str, str] = {}
    while pending and time.monotonic() < deadline:
        found = statuses(api, pending)
        ended |= {i: s for i, s in found.items() if s in TERMINAL_EXECUTION_STATUSES}
        pending = [i for i in pending if i not in ended]
        if pending:
            time.sleep(1.0)
    return ended | statuses(api, pending)
