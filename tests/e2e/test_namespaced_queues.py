"""A queue belongs to its namespace: two tenants' `gpu` are two queues, each with its own
runners, agents, function workers, limits and depths, and neither sees the other's."""

import contextlib
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from execflow_devstack import Stack
from execflow_worker import Worker

from .conftest import (
    create,
    runner_on,
    sh,
    wait_finished,
    wait_for,
    wait_status,
    wait_until,
)
from .test_access import client, key, namespace
from .test_function_workers import Numbers, Total, fn, serving

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def tenant(
    stack: Stack, api: httpx.Client, role: str = "admin"
) -> Iterator[tuple[str, httpx.Client]]:
    name = namespace(api)
    with client(stack, key(api, role, name)) as its:
        yield name, its


def on(queue: str, *steps: dict[str, Any]) -> dict[str, Any]:
    return {"workflow": {"defaults": {"queue": queue}, "steps": list(steps)}}


def worker_ids(api: httpx.Client) -> dict[str, list[str]]:
    answer = api.get("/api/v1/workers")
    assert answer.status_code == 200, answer.text
    return {w["id"]: w["queues"] for w in answer.json()["items"]}


def waiting(api: httpx.Client, queue: str) -> int:
    depths = api.get("/api/v1/engine/overview").json()["queues"]
    return sum(d["waiting"] for d in depths if d["queue"] == queue)


def step_of(api: httpx.Client, execution_id: str) -> dict[str, Any]:
    return dict(api.get(f"/api/v1/executions/{execution_id}").json()["steps"][0])


def test_a_runner_serves_the_namespace_its_queue_key_names(stack: Stack, api: httpx.Client) -> None:
    queue = f"gpu-{uuid.uuid4().hex[:6]}"
    with tenant(stack, api) as (a, alice), tenant(stack, api) as (b, bob):
        runner_a, runner_b = f"ra-{uuid.uuid4().hex[:6]}", f"rb-{uuid.uuid4().hex[:6]}"
        with runner_on(stack, f"{a}/{queue}", runner_a):
            wait_for(lambda: runner_a in worker_ids(alice), what="A's runner registered")
            bobs = create(bob, on(queue, sh("s", "echo bob")))
            alices = create(alice, on(queue, sh("s", "echo alice")))
            assert wait_finished(alice, alices)["status"] == "completed"
            assert step_of(alice, alices)["worker"] == runner_a
            # B's `gpu` is another queue: A's runner leaves its work waiting.
            assert wait_status(bob, bobs, "queued")["status"] == "queued"
            wait_for(lambda: waiting(bob, queue) == 1, what="B's work counted in B's depths")
            said = wait_until(bob, bobs, lambda body: "no live runner" in body["message"])
            assert said["steps"][0]["message"] == (
                f"waiting: no live runner or agent serves queue '{queue}' of namespace '{b}'"
                f" (a runner with EXECFLOW_QUEUES={b}/{queue} would)"
            )
            assert waiting(alice, queue) == 0
            # Each namespace sees the runners of its queues, by the queues' names.
            assert worker_ids(alice)[runner_a] == [queue]
            assert runner_a not in worker_ids(bob)
            assert runner_a not in worker_ids(api)  # `default` has no queue there
            with runner_on(stack, f"{b}/{queue}", runner_b):
                assert wait_finished(bob, bobs)["status"] == "completed"
                assert step_of(bob, bobs)["worker"] == runner_b
                lines = bob.get(f"/api/v1/executions/{bobs}/logs").json()["items"]
                assert [line["line"] for line in lines] == ["bob"]
                assert runner_b not in worker_ids(alice)


def test_a_runner_serving_two_namespaces_shows_each_only_its_own(
    stack: Stack, api: httpx.Client
) -> None:
    queue = f"shared-{uuid.uuid4().hex[:6]}"
    with tenant(stack, api) as (a, alice), tenant(stack, api) as (b, bob):
        shared = f"rs-{uuid.uuid4().hex[:6]}"
        with runner_on(stack, f"{a}/{queue},{b}/{queue}", shared):
            wait_for(lambda: shared in worker_ids(alice), what="the runner registered")
            alices = create(alice, on(queue, sh("s", "sleep 30")))
            wait_status(alice, alices, "running")

            def running_of(its: httpx.Client) -> list[str]:
                workers = {w["id"]: w for w in its.get("/api/v1/workers").json()["items"]}
                return [step["execution_id"] for step in workers[shared]["running"]]

            wait_for(lambda: running_of(alice) == [alices], what="A sees its running step")
            assert worker_ids(bob)[shared] == [queue]
            assert running_of(bob) == []  # not A's step, nor its execution's id
            assert alice.post(f"/api/v1/executions/{alices}/cancel").status_code == 202


def test_queue_limits_are_the_namespace_s(stack: Stack, api: httpx.Client) -> None:
    queue = f"lim-{uuid.uuid4().hex[:6]}"
    with tenant(stack, api) as (a, alice), tenant(stack, api) as (b, bob):
        limited = alice.put(f"/api/v1/queues/{queue}", json={"max_running": 1})
        assert limited.status_code == 200, limited.text
        assert [q["queue"] for q in alice.get("/api/v1/queues").json()["items"]] == [queue]
        assert bob.get("/api/v1/queues").json()["items"] == []
        assert queue not in [q["queue"] for q in api.get("/api/v1/queues").json()["items"]]
        with runner_on(stack, f"{a}/{queue},{b}/{queue}", f"rl-{uuid.uuid4().hex[:6]}"):
            alices = [create(alice, on(queue, sh("s", "sleep 30"))) for _ in range(2)]
            bobs = [create(bob, on(queue, sh("s", "sleep 30"))) for _ in range(2)]
            for execution_id in bobs:  # B's queue of that name has no limit
                wait_status(bob, execution_id, "running")

            def statuses() -> list[str]:
                return sorted(step_of(alice, e)["status"] for e in alices)

            wait_for(lambda: statuses() == ["queued", "running"], what="A's limit of 1")
            for its, ids in ((alice, alices), (bob, bobs)):
                for execution_id in ids:
                    its.post(f"/api/v1/executions/{execution_id}/cancel")


def test_an_agent_token_claims_only_its_namespace_s_queue(stack: Stack, api: httpx.Client) -> None:
    queue = f"remote-{uuid.uuid4().hex[:6]}"
    claim = "/api/v1/agent-control/claims/next"
    with tenant(stack, api) as (a, alice), tenant(stack, api) as (b, bob):
        alices = create(alice, on(queue, sh("s", "echo from a")))
        wait_for(lambda: waiting(alice, queue) == 1, what="A's work waiting")
        asked = {"agent": "a1", "queues": [queue], "wait": 1.5}
        with client(stack, key(api, "agent", b, queues=[queue])) as b_agent:
            assert b_agent.post(claim, json=asked).status_code == 204
        assert waiting(alice, queue) == 1
        with client(stack, key(api, "agent", a, queues=[queue])) as a_agent:
            taken = a_agent.post(claim, json=asked | {"wait": 10})
            assert taken.status_code == 200, taken.text
            job = taken.json()
            assert job["step"]["execution_id"] == alices
            # Both tenants' agents are named `a1`: two agents, each in its namespace.
            assert f"{a}.a1" in worker_ids(alice)
            assert f"{a}.a1" not in worker_ids(bob)
            done = a_agent.post(
                f"/api/v1/agent-control/jobs/{job['id']}/complete",
                json={"lease_token": job["lease_token"], "exit_code": 0},
            )
            assert done.status_code == 200, done.text
        assert wait_finished(alice, alices)["status"] == "completed"


def test_a_function_worker_serves_its_namespace_s_queue(stack: Stack, api: httpx.Client) -> None:
    queue = f"fq{uuid.uuid4().hex[:6]}"
    with tenant(stack, api) as (a, alice), tenant(stack, api) as (_, bob):
        worker = Worker(
            nats_url=stack.config.nats_url,
            bus_prefix=stack.config.bus_prefix,
            worker_id=f"wf-{uuid.uuid4().hex[:6]}",
            namespace=a,
            lease_s=5.0,
        )

        @worker.function("add")
        def add(args: Numbers) -> Total:
            return Total(total=args.a + args.b)

        with serving(worker, queue):
            call = fn("s", "add", queue, args={"a": 2, "b": 3})
            bobs = create(bob, {"workflow": {"steps": [call]}})
            alices = create(alice, {"workflow": {"steps": [call]}})
            done = wait_finished(alice, alices)
            assert (done["status"], done["output"]) == ("completed", {"s": {"total": 5}}), done
            served = alice.get("/api/v1/functions").json()["items"]
            assert [(f["name"], f["queues"]) for f in served] == [("add", [queue])]
            assert bob.get("/api/v1/functions").json()["items"] == []
            body = wait_status(bob, bobs, "queued")
            assert "no live worker serves function 'add'" in body["steps"][0]["message"]


def test_a_runner_serving_several_queues_keeps_to_its_capacity(
    stack: Stack, api: httpx.Client
) -> None:
    """Each queue pulls on its own (work on any starts as it comes), and the pulls share
    the runner's slots: never more steps at once than its capacity, and all of it."""
    queues = [f"cap{i}-{uuid.uuid4().hex[:6]}" for i in range(3)]
    with runner_on(stack, ",".join(queues), capacity=2):
        ids = [create(api, on(queue, sh("s", "sleep 1"))) for queue in queues for _ in range(2)]
        bodies = [wait_finished(api, execution_id, timeout_s=40) for execution_id in ids]
    assert [b["status"] for b in bodies] == ["completed"] * len(ids)
    edges = []
    for body in bodies:
        step = body["steps"][0]
        edges += [(datetime.fromisoformat(step["started_at"]), 1)]
        edges += [(datetime.fromisoformat(step["finished_at"]), -1)]
    running, most = 0, 0
    for _, change in sorted(edges):  # an end sorts before a start at the same instant
        running += change
        most = max(most, running)
    assert most == 2, edges
