"""The faults of a chaos run, one after another, each followed by the time the stack
took to run a new execution end to end again (its recovery)."""

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from execflow_contracts import TERMINAL_EXECUTION_STATUSES
from execflow_devstack import StackConfig

from .cluster import Cluster

PROBE = {"workflow": {"steps": [{"id": "probe", "run": {"command": ["true"]}}]}}


@dataclass
class FaultResult:
    name: str
    at_s: float  # since the run began
    recovered_s: float | None  # from the fault to a new execution completed
    probe: str | None  # the probe execution's id


def faults(cluster: Cluster) -> dict[str, Callable[[], None]]:
    takeover = cluster.timings.takeover_s
    return {
        "kill scheduler": lambda: cluster.kill("scheduler"),
        "kill runner": lambda: cluster.kill("runner"),
        "kill projector": lambda: cluster.kill("projector"),
        "kill api": lambda: cluster.kill("api"),
        "restart nats": lambda: cluster.restart_nats(down_s=2.0),
        "restart postgres": lambda: cluster.restart_postgres(down_s=2.0),
        "pause scheduler": lambda: cluster.pause_writer(takeover + 4.0),
        "wipe nats": lambda: cluster.restart_nats(down_s=1.0, wipe=True),
    }


ALL = (
    "kill scheduler",
    "kill runner",
    "kill projector",
    "kill api",
    "restart nats",
    "restart postgres",
    "pause scheduler",
    "wipe nats",
)


def inject(
    cluster: Cluster, names: list[str], every_s: float, began: float, timeout_s: float
) -> list[FaultResult]:
    """Each fault in turn, `every_s` apart; returns when the last has recovered."""
    actions = faults(cluster)
    results = []
    for index, name in enumerate(names):
        time.sleep(max(0.0, began + (index + 1) * every_s - time.monotonic()))
        at = time.monotonic() - began
        print(f"chaos: {at:5.0f}s  {name}", flush=True)
        # The fault goes on (a server down, a process paused) while the probe runs: the
        # recovery counts from its start.
        acting = threading.Thread(target=actions[name])
        acting.start()
        recovered, probe = recovery(cluster.config, timeout_s)
        acting.join()
        results.append(FaultResult(name, round(at, 1), recovered, probe))
        print(f"chaos:         a new execution ran {recovered}s after it", flush=True)
    return results


def recovery(api: StackConfig, timeout_s: float) -> tuple[float | None, str | None]:
    """Seconds until a new execution, sent (again and again) from now, has completed."""
    started = time.monotonic()
    deadline = started + timeout_s
    key = f"probe-{uuid.uuid4()}"
    execution_id: str | None = None
    with httpx.Client(base_url=api.api_url, timeout=5, headers=api.api_headers) as http:
        while time.monotonic() < deadline:
            try:
                if execution_id is None:
                    sent = http.post(
                        "/api/v1/executions", json=PROBE, headers={"Idempotency-Key": key}
                    )
                    if sent.status_code == 202:
                        execution_id = sent.json()["id"]
                else:
                    got = http.get(f"/api/v1/executions/{execution_id}")
                    status = got.json().get("status") if got.status_code == 200 else None
                    if status in TERMINAL_EXECUTION_STATUSES:
                        return round(time.monotonic() - started, 2), execution_id
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    return None, execution_id
