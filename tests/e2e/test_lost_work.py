"""Work whose every holder dies on it is delivered a bounded number of times: then the
attempt fails as lost, with the reason, and the retry policy decides what follows."""

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from execflow_contracts import Topology
from execflow_devstack import Stack
from execflow_platform import connect

from .conftest import create, running_stack, sh, wait_finished, wait_for

EXECFLOW = str(Path(sys.executable).parent / "execflow")

MAX_DELIVER = 2


@pytest.fixture(scope="module")
def stack(
    nats_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    home: Path = tmp_path_factory.mktemp("lost")
    env = {"EXECFLOW_WORK_MAX_DELIVER": str(MAX_DELIVER)}
    with running_stack(nats_url, database_url, home, env) as running:
        yield running


@pytest.mark.timeout(180)
def test_work_that_kills_its_runner_each_time_fails_as_lost(stack: Stack) -> None:
    runner = stack.services["runner"]
    with httpx.Client(
        base_url=stack.config.api_url, timeout=10, headers=stack.config.api_headers
    ) as api:
        # The runner dies each time the step runs (killed as soon as the step says it
        # started: a sandboxed step cannot kill its runner itself): no runner ever
        # reports on it.
        execution_id = create(api, {"workflow": {"steps": [sh("deadly", "touch up; sleep 60")]}})
        started = stack.config.work_dir / execution_id / "up"
        deadline = time.monotonic() + 120
        body = api.get(f"/api/v1/executions/{execution_id}").json()
        while body.get("status") not in ("failed", "completed") and time.monotonic() < deadline:
            if started.exists():
                started.unlink()
                runner.kill()
            if not runner.alive:
                runner.start()  # as `execflow up` would
            time.sleep(0.2)
            body = api.get(f"/api/v1/executions/{execution_id}").json()
        if not runner.alive:
            runner.start()
        body = wait_finished(api, execution_id, timeout_s=10)
    assert body["status"] == "failed", body
    assert body["error"]["kind"] == "lost"
    assert f"delivered {MAX_DELIVER} times" in body["error"]["message"]


def test_dead_letters_are_listed_shown_and_sent_again(stack: Stack) -> None:
    topology = Topology(stack.config.bus_prefix)
    subject = topology.command(uuid.uuid4(), "CreateExecution")

    async def send_poison() -> None:
        nc = await connect(stack.config.nats_url, "test-poison")
        try:
            await nc.jetstream().publish(subject, b'{"type": "CreateExecution", "nonsense": 1}')
        finally:
            await nc.close()

    asyncio.run(send_poison())
    env = os.environ | {
        "EXECFLOW_NATS_URL": stack.config.nats_url,
        "EXECFLOW_BUS_PREFIX": stack.config.bus_prefix,
    }

    def cli(*args: str) -> str:
        done = subprocess.run(
            [EXECFLOW, "dead-letters", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    listed: list[str] = []

    def dead_lettered() -> bool:
        listed[:] = [line for line in cli("list").splitlines() if subject in line]
        return bool(listed)

    wait_for(dead_lettered, 20, "the poison command in the dead letters")
    sequence = listed[0].split("\t")[0]
    shown = cli("show", sequence)
    assert f"from:   {subject}" in shown
    assert "validation error" in shown
    assert f"sent {sequence} again to {subject}" in cli("replay", sequence)
    # Still poison: set aside again, under a new number.
    wait_for(lambda: dead_lettered() and listed[0].split("\t")[0] != sequence, 20, "again")
