"""Remote agents over HTTP: the reference agent as a real process, and raw claims."""

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from execflow_devstack import Stack

from .conftest import (
    STACK_ENV,
    alive,
    create,
    logs_until,
    running_stack,
    sh,
    wait_finished,
    wait_for,
    wait_status,
    wait_until,
)

EXECFLOW = str(Path(sys.executable).parent / "execflow")
LEASE_S = float(STACK_ENV["EXECFLOW_LEASE_S"])
CLAIM = "/api/v1/agent-control/claims/next"
MAX_BYTES = 4096


@pytest.fixture(scope="module")
def stack(
    nats_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("agents")
    env = {"EXECFLOW_ARTIFACT_MAX_BYTES": str(MAX_BYTES)}
    with running_stack(nats_url, database_url, home, env) as running:
        yield running


def on_queue(step: dict[str, object], queue: str) -> dict[str, object]:
    return step | {"queue": queue}


@pytest.fixture
def queue() -> str:
    """A queue no runner serves: only agents take its work."""
    return f"remote-{uuid.uuid4().hex[:8]}"


def agent_token(stack: Stack, *queues: str) -> str:
    """An agent token for these queues, made with the stack's admin key."""
    made = httpx.post(
        f"{stack.config.api_url}/api/v1/keys",
        json={"role": "agent", "queues": list(queues), "name": "test agent"},
        headers=stack.config.api_headers,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["key"])


def start_agent(stack: Stack, queue: str, name: str, home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            EXECFLOW,
            "agent",
            "--token",
            agent_token(stack, queue),
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


def test_cancel_stops_the_step_on_the_agent(
    api: httpx.Client,
    stack: Stack,
    queue: str,
    agents: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    steps = [
        on_queue(sh("long", "echo $$ > long.pid; exec sleep 60"), queue),
        sh("after", "true", "long"),
    ]
    execution_id = create(api, {"workflow": {"steps": steps}})
    agents.append(start_agent(stack, queue, "agent-stop", tmp_path))
    pid_file = tmp_path / execution_id / "long.pid"
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() != "", 20, str(pid_file))
    pid = int(pid_file.read_text())

    response = api.post(f"/api/v1/executions/{execution_id}/cancel", json={"reason": "enough"})
    assert response.status_code == 202, response.text
    wait_for(lambda: not alive(pid), 10, "the agent's process to be stopped")
    body = wait_status(api, execution_id, "cancelled")
    assert body["stopped_steps"] == ["long"]
    assert {s["id"]: s["status"] for s in body["steps"]} == {
        "long": "cancelled",
        "after": "cancelled",
    }
    assert body["steps"][0]["worker"] == "agent-stop"


def test_an_answer_reaches_the_step_on_the_agent(
    api: httpx.Client,
    stack: Stack,
    queue: str,
    agents: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    script = (
        """echo '{"type":"question","prompt":"go on?"}' >> "$EXECFLOW_EVENTS"; """
        'while [ ! -s "$EXECFLOW_ANSWER" ]; do sleep 0.05; done; '
        """printf '{"type":"output","value":%s}\\n' "$(cat "$EXECFLOW_ANSWER")" """
        '>> "$EXECFLOW_EVENTS"'
    )
    execution_id = create(api, {"workflow": {"steps": [on_queue(sh("ask", script), queue)]}})
    agents.append(start_agent(stack, queue, "agent-ask", tmp_path))
    asking = wait_status(api, execution_id, "awaiting_input")
    assert asking["steps"][0]["prompt"] == "go on?"
    answer = {"input": {"go": True}}
    assert api.post(f"/api/v1/executions/{execution_id}/resume", json=answer).is_success
    body = wait_finished(api, execution_id, timeout_s=30)
    assert body["status"] == "completed", body
    assert body["output"] == {"ask": {"go": True}}


def test_the_files_an_agents_step_declared_are_stored_or_refused(
    api: httpx.Client,
    stack: Stack,
    queue: str,
    agents: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    def fact(line: str) -> str:
        return f"echo '{line}' >> \"$EXECFLOW_EVENTS\";"

    script = " ".join(
        [
            "mkdir -p out; echo '<h1>far</h1>' > out/report.html; printf 'PNG' > shot.png;",
            f"head -c {MAX_BYTES + 1} /dev/zero > big.bin;",
            fact('{"type":"artifact","name":"report","path":"out/report.html"}'),
            fact('{"type":"screenshot","path":"shot.png"}'),
            fact('{"type":"artifact","name":"big","path":"big.bin"}'),
            fact('{"type":"artifact","name":"escape","path":"../../../etc/hostname"}'),
            "echo finished",
        ]
    )
    execution_id = create(api, {"workflow": {"steps": [on_queue(sh("far", script), queue)]}})
    agents.append(start_agent(stack, queue, "agent-files", tmp_path))
    body = wait_finished(api, execution_id, timeout_s=30)
    assert body["status"] == "completed", body
    listed = {a["name"]: a for a in api.get(body["links"]["artifacts"]).json()["items"]}
    assert {n: a["status"] for n, a in listed.items()} == {
        "report": "stored",
        "shot.png": "stored",
        "big": "refused",
        "escape": "refused",
        "far.log": "stored",
    }
    assert api.get(listed["report"]["url"]).content == b"<h1>far</h1>\n"
    assert api.get(listed["shot.png"]["url"]).content == b"PNG"
    assert listed["shot.png"]["kind"] == "screenshot"
    assert "over the artifact size limit" in listed["big"]["error"]
    assert "leaves the workspace" in listed["escape"]["error"]
    assert body["n_screenshots"] == 1
    log = api.get(body["logs_url"]).text
    assert "stdout: finished" in log
    assert "execflow: artifact 'escape' refused" in log


def test_a_jobs_signals_tell_its_holder_to_stop(api: httpx.Client, queue: str) -> None:
    execution_id = create(api, {"workflow": {"steps": [on_queue(sh("s", "true"), queue)]}})
    claimed = api.post(CLAIM, json={"agent": "raw", "queues": [queue], "wait": 10})
    assert claimed.status_code == 200, claimed.text
    job = claimed.json()
    signals = f"/api/v1/agent-control/jobs/{job['id']}/signals"
    token = {"lease_token": job["lease_token"]}
    quiet = api.post(signals, json=token | {"wait": 0.2})
    assert quiet.status_code == 200, quiet.text
    assert quiet.json() == {"stop": None, "answered": False, "answer": None}
    assert api.post(signals, json={"lease_token": "forged"}).status_code == 409

    api.post(f"/api/v1/executions/{execution_id}/cancel", json={"reason": "no longer needed"})
    asked = time.monotonic()
    told = api.post(signals, json=token | {"wait": 10})
    assert told.status_code == 200, told.text
    assert told.json()["stop"] == "execution cancelled: no longer needed"
    assert time.monotonic() - asked < 5  # the long poll ends when the stop comes
    upload = f"/api/v1/agent-control/jobs/{job['id']}/artifacts"
    lease = {"Execflow-Lease-Token": job["lease_token"]}
    assert api.put(f"{upload}/no%20spaces", headers=lease, content=b"x").status_code == 422
    forged = api.put(f"{upload}/ok", headers={"Execflow-Lease-Token": "forged"}, content=b"x")
    assert forged.status_code == 409
    extended = api.post(f"/api/v1/agent-control/jobs/{job['id']}/lease", json=token)
    assert extended.json()["signals"]["stop"] == told.json()["stop"]

    done = api.post(
        f"/api/v1/agent-control/jobs/{job['id']}/complete", json=token | {"exit_code": -15}
    )
    assert done.status_code == 200, done.text
    body = wait_status(api, execution_id, "cancelled")
    assert body["stopped_steps"] == ["s"]
    assert body["attempts"][0]["error"] == "killed by SIGTERM"


def test_work_cancelled_before_any_claim_is_never_handed_out(api: httpx.Client, queue: str) -> None:
    execution_id = create(api, {"workflow": {"steps": [on_queue(sh("s", "true"), queue)]}})
    wait_until(api, execution_id, lambda b: b["steps"][0]["status"] == "queued")
    cancelled = api.post(f"/api/v1/executions/{execution_id}/cancel", json={"reason": "no"})
    assert cancelled.status_code == 202, cancelled.text
    wait_status(api, execution_id, "cancelled")
    claimed = api.post(CLAIM, json={"agent": "late", "queues": [queue], "wait": 1})
    assert claimed.status_code == 204, claimed.text


def test_nothing_to_claim_is_a_204_after_the_wait(api: httpx.Client, queue: str) -> None:
    started = time.monotonic()
    response = api.post(CLAIM, json={"agent": "idle", "queues": [queue], "wait": 1})
    assert response.status_code == 204
    assert 0.9 <= time.monotonic() - started < 5


def test_much_output_from_an_agent_reaches_the_logs_in_chunks(
    api: httpx.Client,
    stack: Stack,
    queue: str,
    agents: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    # 3 MB of lines in the agent's posts: the API ships them in chunks that each fit in
    # a bus message (one chunk of them was refused, and the lines were lost).
    script = "python3 -c \"[print('y' * 10_000) for _ in range(300)]\""
    execution_id = create(api, {"workflow": {"steps": [on_queue(sh("far", script), queue)]}})
    agents.append(start_agent(stack, queue, "agent-chatty", tmp_path))
    assert wait_finished(api, execution_id, timeout_s=30)["status"] == "completed"
    lines = logs_until(api, execution_id, lambda ls: len(ls) >= 300)
    assert [line["line"] for line in lines] == ["y" * 10_000] * 300


def test_many_facts_are_reported_in_batches_that_fit_and_a_huge_one_is_refused(
    api: httpx.Client, queue: str
) -> None:
    # 1,000 facts of 2 KB in one post: one report of them was more than a bus message
    # holds (a 500, and the facts lost).
    execution_id = create(api, {"workflow": {"steps": [on_queue(sh("s", "true"), queue)]}})
    claimed = api.post(CLAIM, json={"agent": "raw", "queues": [queue], "wait": 10})
    assert claimed.status_code == 200, claimed.text
    job = claimed.json()
    token = {"lease_token": job["lease_token"]}
    events = f"/api/v1/agent-control/jobs/{job['id']}/events"
    many = [{"type": "action", "name": f"a{i}", "blob": "b" * 2000} for i in range(1000)]
    reported = api.post(events, json=token | {"events": many})
    assert reported.status_code == 200, reported.text
    huge = api.post(events, json=token | {"events": [{"type": "action", "blob": "h" * 300_000}]})
    assert huge.status_code == 200, huge.text
    assert "larger than 266240 bytes" in huge.text
    done = api.post(
        f"/api/v1/agent-control/jobs/{job['id']}/complete", json=token | {"exit_code": 0}
    )
    assert done.status_code == 200, done.text
    body = wait_finished(api, execution_id)
    assert body["status"] == "completed"
    assert wait_until(api, execution_id, lambda b: b["n_agent_actions"] == 1000, 20)


def test_after_a_lapsed_lease_the_next_agents_lines_are_all_kept_beside_the_first_ones(
    api: httpx.Client, queue: str
) -> None:
    # Both agents' lines are numbered from 1: they are told apart by their delivery (an
    # agent's chunks once carried none, and the second agent's lines were dropped as
    # repeats of the first's).
    execution_id = create(api, {"workflow": {"steps": [on_queue(sh("s", "true"), queue)]}})

    def claim_and_log(agent: str, lines: list[str]) -> tuple[str, dict[str, str]]:
        claimed = api.post(CLAIM, json={"agent": agent, "queues": [queue], "wait": 10})
        assert claimed.status_code == 200, claimed.text
        job = claimed.json()
        token = {"lease_token": job["lease_token"]}
        path = f"/api/v1/agent-control/jobs/{job['id']}"
        shipped = api.post(f"{path}/logs", json=token | {"lines": [{"line": t} for t in lines]})
        assert shipped.status_code == 200, shipped.text
        return path, token

    claim_and_log("first", ["one", "two", "three"])
    time.sleep(LEASE_S + 0.5)  # the first agent's lease lapses; its work comes back
    path, token = claim_and_log("second", ["four", "five", "six"])
    done = api.post(f"{path}/complete", json=token | {"exit_code": 0})
    assert done.status_code == 200, done.text
    assert wait_finished(api, execution_id)["status"] == "completed"
    lines = logs_until(api, execution_id, lambda ls: len(ls) >= 6)
    by_delivery = sorted((ln["delivery"], ln["seq"], ln["line"]) for ln in lines)
    assert by_delivery == [
        (1, 1, "one"),
        (1, 2, "two"),
        (1, 3, "three"),
        (2, 1, "four"),
        (2, 2, "five"),
        (2, 3, "six"),
    ]


def worker(api: httpx.Client, worker_id: str) -> dict[str, Any] | None:
    items = api.get("/api/v1/workers").json()["items"]
    return next((w for w in items if w["id"] == worker_id), None)


def test_an_agent_is_listed_with_the_runners_and_what_it_runs(
    api: httpx.Client,
    stack: Stack,
    queue: str,
    agents: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    name = f"lister-{uuid.uuid4().hex[:6]}"
    agents.append(start_agent(stack, queue, name, tmp_path))
    wait_for(lambda: worker(api, name) is not None, what="the agent registered")
    listed = worker(api, name)
    assert listed is not None
    assert (listed["kind"], listed["queues"], listed["backends"]) == ("agent", [queue], ["process"])
    assert listed["running"] == [] and listed["pid"] > 0
    kinds = {w["kind"] for w in api.get("/api/v1/workers").json()["items"]}
    assert kinds == {"runner", "agent"}

    execution_id = create(api, {"workflow": {"steps": [on_queue(sh("s", "sleep 2"), queue)]}})
    wait_for(lambda: len((worker(api, name) or {}).get("running", [])) == 1, what="it runs one")
    running = (worker(api, name) or {})["running"][0]
    assert (running["execution_id"], running["step_id"]) == (execution_id, "s")
    assert wait_finished(api, execution_id)["status"] == "completed"
    wait_for(lambda: (worker(api, name) or {}).get("running") == [], what="it runs none")
    table = subprocess.run(
        [EXECFLOW, "worker", "list", "--api", stack.config.api_url],
        check=True,
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **stack.config.env_for_clients()},
    )
    row = next(line.split() for line in table.stdout.splitlines() if name in line.split())
    assert (row[0], row[1], row[3], row[5]) == (name, "agent", queue, "0/1")


def test_agents_register_and_leave_on_the_seeds_paths(api: httpx.Client, queue: str) -> None:
    name = f"lab-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "queues": [queue], "capacity": 2, "labels": {"gpu": "a100"}}
    registered = api.post("/agent-control/agents", json=body)
    assert registered.status_code == 201, registered.text
    listed = worker(api, name)
    assert listed == registered.json()
    assert (listed["kind"], listed["capacity"], listed["labels"]) == ("agent", 2, {"gpu": "a100"})
    nothing = api.post(
        "/agent-control/claims/next", json={"agent": name, "queues": [queue], "wait": 0}
    )
    assert nothing.status_code == 204
    assert api.delete(f"/agent-control/agents/{name}").status_code == 204
    assert worker(api, name) is None
    bad = api.post("/api/v1/agent-control/agents", json={"name": "no spaces", "queues": [queue]})
    assert bad.status_code == 422
    assert "name" in bad.json()["reason"]
