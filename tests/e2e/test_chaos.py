"""`make chaos`, smaller: every fault once (services SIGKILLed, NATS and PostgreSQL
restarted, the writer paused past its takeover, NATS's data wiped) while executions are
submitted; then every one completed, no step ran twice at once or after it succeeded,
the read models equal a rebuild, and EVENTS holds each stored event once."""

from pathlib import Path

import pytest

from execflow_ops.chaos.faults import ALL
from execflow_ops.chaos.report import show
from execflow_ops.chaos.run import Plan, run


@pytest.mark.timeout(600)
def test_every_fault_once_loses_nothing_and_runs_nothing_twice_at_once(tmp_path: Path) -> None:
    verdict = run(Plan(executions=150, rate=15, faults=ALL, settle_timeout_s=180), tmp_path)
    show(verdict)
    assert verdict.accepted == 150
    assert verdict.not_completed == []
    assert [f.name for f in verdict.faults if f.recovered_s is None] == []
    assert verdict.ledger.concurrent == []
    assert verdict.ledger.overlapping == []
    assert verdict.ledger.after_success == []
    assert verdict.read_models_differ == {}
    assert verdict.stream is not None
    assert (verdict.stream.missing, verdict.stream.repeated) == (0, 0)
    assert verdict.passed
