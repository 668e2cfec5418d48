"""A step's log is capped: lines past the cap are dropped, and one line says how many."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from execflow_bus import LogShipper
from execflow_contracts import LogChunk, StepWork, Topology
from execflow_platform import connect, ensure_streams

from ..conftest import Names

pytestmark = pytest.mark.asyncio(loop_scope="function")


async def test_lines_past_the_cap_are_dropped_and_counted(nats_url: str, names: Names) -> None:
    topology = Topology(names.prefix)
    nc = await connect(nats_url, "test-log-cap")
    try:
        js = nc.jetstream()
        await ensure_streams(js, topology)
        work = StepWork.model_validate(
            {
                "execution_id": str(uuid.uuid4()),
                "step_id": "loud",
                "attempt": 1,
                "queue": "default",
                "run": {"command": ["true"]},
                "dispatched_at": datetime.now(UTC).isoformat(),
            }
        )
        shipper = LogShipper(js, topology, work, delivery=1, max_bytes=25)
        kept = [shipper.add("stdout", f"line {i}") for i in range(10)]  # 6 bytes each
        await shipper.close()
        assert kept == [True] * 4 + [False] * 6
        subscription = await js.pull_subscribe(topology.all_logs, stream=topology.logs_stream)
        chunks = [LogChunk.model_validate_json(m.data) for m in await subscription.fetch(10, 5)]
        lines = [line.text for chunk in chunks for line in chunk.lines]
        assert lines[:4] == ["line 0", "line 1", "line 2", "line 3"]
        assert lines[4].startswith("execflow: 6 more lines (36 bytes) dropped")
        assert len(lines) == 5
    finally:
        await nc.close()
        await asyncio.sleep(0)
