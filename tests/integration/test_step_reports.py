"""What a runner's attempt tells the scheduler, on a real nats-server: a short step's
start comes with its finish (one report), a longer step's start is reported while it
runs, nothing about a step is ever reported before its start, and a step slow to start is
reported taken (the execution is then `starting`) before it starts."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from nats.js import JetStreamContext

from execflow_artifacts import Uploader
from execflow_contracts import (
    AnyCommand,
    ReportStepClaimed,
    ReportStepFacts,
    ReportStepFinished,
    ReportStepStarted,
    RunSpec,
    StepWork,
    Topology,
    parse_command,
)
from execflow_platform import ArtifactStore, connect
from execflow_runner.attempt import START_REPORT_DELAY_S, Attempt
from execflow_runner.backends import Outcome
from execflow_runner.backends.process import ProcessBackend

from ..conftest import Names

pytestmark = pytest.mark.asyncio(loop_scope="function")


class SlowToStart(ProcessBackend):
    """Processes that take a while to start, as a container whose image is pulled does."""

    async def run(self, *args: Any, **kwargs: Any) -> Outcome:
        await asyncio.sleep(0.3)
        return await super().run(*args, **kwargs)


async def reports_of(
    nats_url: str,
    names: Names,
    script: str,
    tmp_path: Path,
    hold_s: float,
    backend: ProcessBackend | None = None,
) -> list[AnyCommand]:
    """Run one attempt of `script` through the process backend, its start report held
    for `hold_s`; its reports, in order."""
    topology = Topology(names.prefix)
    nc = await connect(nats_url, "test-reports")
    js = nc.jetstream()
    try:
        work = StepWork(
            execution_id=uuid4(),
            step_id="s",
            attempt=1,
            queue="default",
            run=RunSpec(command=["sh", "-c", script]),
            dispatched_at=datetime.now(UTC),
        )
        workspace = tmp_path / "ws"
        uploader = Uploader(ArtifactStore(str(tmp_path / "artifacts")), 1_000_000)
        backend = backend or ProcessBackend()
        attempt = Attempt(js, topology, backend, "w", work, 1, workspace, uploader, hold_s)
        await attempt.run()
        return await commands_of(js, topology)
    finally:
        await nc.close()


async def commands_of(js: JetStreamContext, topology: Topology) -> list[AnyCommand]:
    """Every command on the test's own stream, in order (read in place: nothing consumes
    them here)."""
    state = (await js.stream_info(topology.commands_stream)).state
    return [
        parse_command((await js.get_msg(topology.commands_stream, sequence)).data or b"")
        for sequence in range(state.first_seq, state.last_seq + 1)
    ]


async def test_a_step_ending_within_the_hold_reports_its_start_with_its_finish(
    nats_url: str, provisioned: Names, tmp_path: Path
) -> None:
    # Held long enough that even a slow machine finishes `true` within it.
    reports = await reports_of(nats_url, provisioned, "true", tmp_path, hold_s=5)
    assert [type(r) for r in reports] == [ReportStepFinished]
    finish = reports[0]
    assert isinstance(finish, ReportStepFinished)
    assert finish.started_at <= finish.finished_at
    # Taken and started within the hold: the finish says when it was taken, too.
    assert finish.claimed_at is not None and finish.claimed_at <= finish.started_at


async def test_a_step_longer_than_the_hold_reports_its_start_while_it_runs(
    nats_url: str, provisioned: Names, tmp_path: Path
) -> None:
    reports = await reports_of(nats_url, provisioned, "sleep 1", tmp_path, START_REPORT_DELAY_S)
    assert [type(r) for r in reports] == [ReportStepStarted, ReportStepFinished]
    start, finish = reports
    assert isinstance(start, ReportStepStarted) and isinstance(finish, ReportStepFinished)
    assert start.started_at == finish.started_at
    assert start.claimed_at is not None and start.claimed_at <= start.started_at
    assert finish.claimed_at is None  # said once


async def test_a_step_slow_to_start_is_reported_taken_before_it_starts(
    nats_url: str, provisioned: Names, tmp_path: Path
) -> None:
    reports = await reports_of(
        nats_url, provisioned, "sleep 0.5", tmp_path, START_REPORT_DELAY_S, SlowToStart()
    )
    assert [type(r) for r in reports] == [ReportStepClaimed, ReportStepStarted, ReportStepFinished]
    claim, start, finish = reports
    assert isinstance(claim, ReportStepClaimed) and isinstance(start, ReportStepStarted)
    assert isinstance(finish, ReportStepFinished)
    assert (start.started_at - claim.claimed_at).total_seconds() >= 0.3
    assert start.claimed_at is None and finish.claimed_at is None


async def test_a_report_made_before_the_start_is_sent_brings_the_start_first(
    nats_url: str, provisioned: Names, tmp_path: Path
) -> None:
    # A short step that writes a line: its log is stored as an artifact, and that fact is
    # reported before the finish; the scheduler counts facts only for a started step.
    reports = await reports_of(nats_url, provisioned, "echo hello", tmp_path, hold_s=5)
    assert [type(r) for r in reports] == [ReportStepStarted, ReportStepFacts, ReportStepFinished]
