"""A whole chaos run: the stack, the load, the faults, the checks, and the verdict."""

import asyncio
import json
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import checks
from .cluster import PREFIX, SCHEMA, Cluster, Timings
from .faults import ALL, FaultResult, inject
from .load import Submitted, submit_at_rate, wait_all_ended, workflow


@dataclass(frozen=True)
class Plan:
    executions: int = 2000
    rate: float = 20.0  # submitted a second
    faults: tuple[str, ...] = ALL
    steps: int = 3
    step_sleep_s: float = 0.05
    settle_timeout_s: float = 300.0  # for every execution to end, after the last fault
    recovery_timeout_s: float = 120.0  # for a probe to run after a fault

    @property
    def every_s(self) -> float:
        """Faults spread over the load's duration."""
        return self.executions / self.rate / (len(self.faults) + 1)


@dataclass
class Verdict:
    plan: dict[str, Any]
    accepted: int = 0
    resends: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    not_completed: list[str] = field(default_factory=list)
    faults: list[FaultResult] = field(default_factory=list)
    ledger: checks.Ledger = field(default_factory=checks.Ledger)
    read_models_differ: dict[str, int] = field(default_factory=dict)
    stream: checks.StreamCheck | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        ledger = self.ledger
        stream = self.stream
        return (
            not self.not_completed
            and all(f.recovered_s is not None for f in self.faults)
            and not (ledger.concurrent or ledger.overlapping or ledger.after_success)
            and not self.read_models_differ
            and stream is not None
            and stream.missing == 0
            and stream.repeated == 0
        )


def run(plan: Plan, home: Path | None = None, timings: Timings | None = None) -> Verdict:
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
        return _run(plan, home, timings or Timings())
    with tempfile.TemporaryDirectory(prefix="execflow-chaos-") as scratch:
        return _run(plan, Path(scratch), timings or Timings())


def _run(plan: Plan, home: Path, timings: Timings) -> Verdict:
    verdict = Verdict(plan=asdict(plan))
    began = time.monotonic()
    ledger_path = home / "ledger.csv"
    cluster = Cluster(home, timings).start()
    try:
        body = {"workflow": workflow(ledger_path, plan.steps, plan.step_sleep_s)}
        loaded: list[Submitted] = []
        load = threading.Thread(
            target=lambda: loaded.append(
                asyncio.run(submit_at_rate(cluster.config, body, plan.executions, plan.rate))
            )
        )
        load.start()
        verdict.faults = inject(
            cluster, list(plan.faults), plan.every_s, time.monotonic(), plan.recovery_timeout_s
        )
        load.join()
        submitted = loaded[0] if loaded else Submitted()
        ids = list(submitted.accepted.values()) + [f.probe for f in verdict.faults if f.probe]
        ended = wait_all_ended(cluster.config, ids, plan.settle_timeout_s)
        verdict.accepted, verdict.resends = len(submitted.accepted), submitted.resends
        verdict.outcomes = dict(Counter(ended.values()))
        verdict.not_completed = [f"{i}: {s}" for i, s in ended.items() if s != "completed"]
        config = cluster.config
        verdict.ledger = checks.ledger(ledger_path, config.database_url, SCHEMA)
        verdict.read_models_differ = checks.read_models_differ(config.database_url, SCHEMA)
        verdict.stream = checks.stream_against_store(
            config.nats_url, config.database_url, SCHEMA, PREFIX
        )
    finally:
        cluster.stop()
    verdict.seconds = round(time.monotonic() - began, 1)
    return verdict


def to_json(verdict: Verdict) -> str:
    data = asdict(verdict) | {"passed": verdict.passed}
    return json.dumps(data, indent=2)
