"""Remote agents over HTTP: the reference agent as a real process, and raw claims."""

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from execflow_devstack import Stack

from .conftest import STACK_ENV, create, logs_until, sh, wait_finished, wait_until

EXECFLOW = str(Path(sys.executable).parent / "execflow")
LEASE_S = float(STACK_ENV["EXECFLOW_LEASE_S"])
CLAIM = "/api/v1/agent-control/claims/next"


def on_queue(step: dict[str, object], queue: str) -> dict[str, object]:
    return step | {"queue": queue}


@pytest.fixture
def queue() -> str:
    """A queue no runner serves: only agents take its work."""
    return f"remote-{uuid.uuid4().hex[:8]}"


def start_agent(stack: Stack, queue: str, name: str, home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            EXECFLOW,
            "agent",
            "--api",
            stack.config.api_url,
            "--queue",
            queue,
            "--name",
            name,
            "--wait",
            "1",
            "--work-dir",
            str(home),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(home / f"{name}.log").open("wb"),
    )


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
        process.wait(10)
    for log in tmp_path.glob("*.log"):
        print(f"--- {log.name}\n{log.read_text()[-3000:]}")


def test_an_agent_claims_heartbeats_streams_logs_and_completes(
    api: httpx.Client,
    stack: Stack,
    queue: str,
    agents: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    # Longer than the lease: it completes only if the agent's heartbeats hold it.
    script = (
        "echo starting; "
        """echo '{"type":"progress","current":1,"max":2}' >> "$EXECFLOW_EVENTS"; """
        """echo '{"type":"action","name":"click"}' >> "$EXECFLOW_EVENTS"; """
        f"sleep {LEASE_S + 1.5}; "
        """echo '{"type":"output","value":{"remote":true}}' >> "$EXECFLOW_EVENTS"; """
        "echo done"
    )
    execution_id = create(api, {"workflow": {"steps": [on_queue(sh("far", script), queue)]}})
    agents.append(start_agent(stack, queue, "agent-one", tmp_path))
    body = wait_finished(api, execution_id, timeout_s=30)
    assert body["status"] == "completed", body
    assert body["steps"][0]["worker"] == "agent-one"
    assert body["output"] == {"far": {"remote": True}}
    assert body["progress"]["current"] == 1
    assert body["n_agent_actions"] == 1
    assert [a["delivery"] for a in body["attempts"]] == [1]  # the lease never lapsed
    lines = logs_until(api, execution_id, lambda ls: len(ls) == 2)
    assert [ln["line"] for ln in lines] == ["starting", "done"]


def test_an_expired_lease_goes_to_another_claimant_and_the_late_report_is_refused(
    api: httpx.Client,
    stack: Stack,
    queue: str,
    agents: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    execution_id = create(api, {"workflow": {"steps": [on_queue(sh("s", "echo again"), queue)]}})
    claimed = api.post(CLAIM, json={"agent": "silent", "queues": [queue], "wait": 10})
    assert claimed.status_code == 200, claimed.text
    job = claimed.json()
    assert job["step"]["execution_id"] == execution_id
    job_path = f"/api/v1/agent-control/jobs/{job['id']}"
    token = {"lease_token": job["lease_token"]}
    assert api.post(f"{job_path}/lease", json=token).status_code == 200
    assert api.post(f"{job_path}/lease", json={"lease_token": "forged"}).status_code == 409
    wait_until(api, execution_id, lambda b: b["steps"][0]["worker"] == "silent")

    time.sleep(LEASE_S + 0.5)  # the silent agent lets its lease lapse
    agents.append(start_agent(stack, queue, "agent-two", tmp_path))
    body = wait_finished(api, execution_id, timeout_s=30)
    assert body["status"] == "completed", body
    assert body["steps"][0]["worker"] == "agent-two"
    assert [a["delivery"] for a in body["attempts"]] == [1, 2]

    late = api.post(f"{job_path}/complete", json=token | {"exit_code": 0})
    assert late.status_code == 409, late.text
    assert "lease expired" in late.json()["reason"]
    assert api.get(f"/api/v1/executions/{execution_id}").json()["steps"][0]["worker"] == (
        "agent-two"
    )


def test_nothing_to_claim_is_a_204_after_the_wait(api: httpx.Client, queue: str) -> None:
    started = time.monotonic()
    response = api.post(CLAIM, json={"agent": "idle", "queues": [queue], "wait": 1})
    assert response.status_code == 204
    assert 0.9 <= time.monotonic() - started < 5
