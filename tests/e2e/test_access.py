"""Who may do what, through the API as it runs: keys, roles, namespaces, the audit trail.

Auth is on in every test stack (its clients send an admin key of `default`); here keys
of other roles and namespaces are made and tried."""

import re
import uuid
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from execflow.cli import app
from execflow_devstack import Stack

from .conftest import create, runner_on, sh, wait_finished

pytestmark = pytest.mark.e2e

OPEN = {"/healthz", "/readyz", "/docs", "/openapi.json", "/asyncapi"}
# Routes left out of the OpenAPI document, which are behind the guard all the same.
HIDDEN = [
    ("GET", "/metrics"),
    ("GET", "/apis"),
    ("GET", "/version"),
    ("POST", "/agent-control/claims/next"),
]


def key(api: httpx.Client, role: str, namespace: str | None = None, **extra: Any) -> str:
    body = {"role": role, "name": f"test {role}", **extra}
    if namespace:
        body["namespace"] = namespace
    made = api.post("/api/v1/keys", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["role"] == role
    return str(made.json()["key"])


def client(stack: Stack, token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=stack.config.api_url, timeout=10, headers=headers)


def namespace(api: httpx.Client) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    made = api.post("/api/v1/namespaces", json={"name": name})
    assert made.status_code == 201, made.text
    return name


def every_route(stack: Stack) -> list[tuple[str, str]]:
    document = httpx.get(f"{stack.config.api_url}/openapi.json").json()
    found = [
        (method.upper(), re.sub(r"\{[^}]+\}", "x", path))
        for path, operations in document["paths"].items()
        for method in operations
    ]
    return found + HIDDEN


def test_every_route_but_health_and_docs_asks_for_a_key(stack: Stack) -> None:
    anonymous = httpx.Client(base_url=stack.config.api_url, timeout=10)
    for path in OPEN:
        assert anonymous.get(path).status_code == 200, path
    routes = every_route(stack)
    assert len(routes) > 60
    for method, path in routes:
        if path in OPEN:
            continue
        answer = anonymous.request(method, path)
        assert answer.status_code == 401, (method, path, answer.status_code, answer.text)
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "API key is needed" in answer.json()["reason"], (method, path)
    bad = anonymous.get("/api/v1/executions", headers={"Authorization": "Bearer nonsense"})
    assert (bad.status_code, bad.json()["error"]) == (401, "unauthenticated")
    assert "not an execflow API key" in bad.json()["reason"]
    wrong = anonymous.get(
        "/api/v1/executions", headers={"Authorization": "Basic dXNlcjpwYXNz"}
    ).json()["reason"]
    assert "Bearer" in wrong


def test_readyz_tells_anyone_whether_it_is_ready_and_a_key_the_details(
    stack: Stack, api: httpx.Client
) -> None:
    anonymous = httpx.get(f"{stack.config.api_url}/readyz").json()
    assert anonymous["ready"] is True and anonymous["auth"] == "on"
    assert anonymous["checks"] == {}
    detailed = api.get("/readyz").json()
    assert detailed["checks"]["postgres"] == "ok" and detailed["checks"]["nats"] == "ok"
    me = api.get("/api/v1/whoami").json()
    assert (me["namespace"], me["role"], me["auth"]) == ("default", "admin", "on")


def test_each_role_may_do_what_it_is_given_and_a_smaller_one_is_403(
    stack: Stack, api: httpx.Client
) -> None:
    body = {"workflow": {"steps": [sh("a", "true")]}}
    with client(stack, key(api, "reader")) as reader, client(stack, key(api, "operator")) as op:
        assert reader.get("/api/v1/executions").status_code == 200
        refused = reader.post("/api/v1/executions", json=body)
        assert refused.status_code == 403
        assert "a reader key may not POST /api/v1/executions" in refused.json()["reason"]
        assert "operator" in refused.json()["reason"]
        execution_id = create(op, body)
        assert wait_finished(op, execution_id)["status"] == "completed"
        assert op.put("/api/v1/queues/q1", json={"max_running": 1}).status_code == 403
        assert op.get("/api/v1/keys").status_code == 403
        assert api.put("/api/v1/queues/q1", json={"max_running": 1}).status_code == 200
        # The audit trail names the key that asked.
        op_id = op.get("/api/v1/whoami").json()["key_id"]
        moves = op.get(f"/api/v1/executions/{execution_id}/transitions").json()["items"]
        assert moves[0]["actor"] == f"key:{op_id}"
        created = op.get(f"/api/v1/executions/{execution_id}/history").json()["items"][0]
        assert created["body"]["actor"] == f"key:{op_id}"


def test_a_revoked_key_is_refused_at_once(stack: Stack, api: httpx.Client) -> None:
    token = key(api, "reader")
    with client(stack, token) as reader:
        assert reader.get("/api/v1/executions").status_code == 200  # now remembered
        key_id = reader.get("/api/v1/whoami").json()["key_id"]
        listed = {k["id"]: k for k in api.get("/api/v1/keys").json()["items"]}
        assert listed[key_id]["role"] == "reader" and "key" not in listed[key_id]
        assert api.delete(f"/api/v1/keys/{key_id}").status_code == 204
        refused = reader.get("/api/v1/executions")
        assert refused.status_code == 401 and "revoked" in refused.json()["reason"]
    wrong = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    with client(stack, wrong) as guess:
        assert guess.get("/api/v1/executions").status_code == 401


def test_the_key_in_the_query_is_taken_on_streams_only(stack: Stack, api: httpx.Client) -> None:
    execution_id = create(api, {"workflow": {"steps": [sh("a", "true")]}})
    wait_finished(api, execution_id)
    token = stack.config.api_key or ""
    anonymous = httpx.Client(base_url=stack.config.api_url, timeout=10)
    listed = anonymous.get("/api/v1/executions", params={"token": token})
    assert listed.status_code == 401
    events = anonymous.get(f"/api/v1/executions/{execution_id}/events", params={"token": token})
    assert events.status_code == 200 and "event: snapshot" in events.text


def test_a_namespace_sees_and_touches_only_its_own(stack: Stack, api: httpx.Client) -> None:
    mine = create(api, {"workflow": {"steps": [sh("a", "true")]}, "metadata": {"who": "a"}})
    wait_finished(api, mine)
    other = namespace(api)
    # Its work runs on a runner of its own queue: `default`'s runner serves `default` only.
    with client(stack, key(api, "admin", other)) as b, runner_on(stack, f"{other}/default"):
        assert b.get("/api/v1/whoami").json()["namespace"] == other
        theirs = create(
            b, {"workflow": {"steps": [sh("b", "echo SEEN")]}, "metadata": {"who": "b"}}
        )
        assert wait_finished(b, theirs)["status"] == "completed"
        # Lists, counts, board, overview, metrics and exports are of the key's namespace.
        assert [e["id"] for e in b.get("/api/v1/executions").json()["items"]] == [theirs]
        assert theirs not in [e["id"] for e in api.get("/api/v1/executions").json()["items"]]
        assert b.get("/api/v1/engine/overview").json()["counts"]["completed"] == 1
        board = b.get("/api/v1/board").json()["columns"]["completed"]
        assert [c["id"] for c in board["items"]] == [theirs]
        report = b.get("/api/v1/metrics", params={"bucket": "hour"}).json()["items"]
        assert sum(i["completed"] for i in report) == 1
        exported = b.get("/api/v1/history").text.splitlines()
        assert exported and all(theirs in line for line in exported)
        assert mine not in api.get("/api/v1/history", params={"metadata.who": "b"}).text
        # Another namespace's id is a 404, read or written, as an id of nothing is.
        for path in ("", "/transitions", "/history", "/logs", "/artifacts", "/events"):
            assert b.get(f"/api/v1/executions/{mine}{path}").status_code == 404, path
            assert api.get(f"/api/v1/executions/{theirs}{path}").status_code == 404, path
        assert api.get(f"/api/executions/{theirs}").status_code == 404  # a dialect's route
        assert b.post(f"/api/v1/executions/{mine}/retry").status_code == 404
        assert b.post(f"/api/v1/executions/{mine}/cancel").status_code == 404
        # An admin of another namespace manages its own keys only, and makes none.
        assert b.post("/api/v1/namespaces", json={"name": "x-nope"}).status_code == 403
        foreign = b.post("/api/v1/keys", json={"role": "reader", "namespace": "default"})
        assert foreign.status_code == 403
        assert {k["namespace"] for k in b.get("/api/v1/keys").json()["items"]} == {other}
        # The same idempotency key in two namespaces names two executions.
        body = {"workflow": {"steps": [sh("a", "true")]}}
        same = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
        assert create(b, body, **same) != create(api, body, **same)


def test_workflows_and_schedules_belong_to_their_namespace(stack: Stack, api: httpx.Client) -> None:
    name = f"wf-{uuid.uuid4().hex[:8]}"

    def definition(word: str) -> dict[str, Any]:
        return {"id": name, "steps": [sh("say", f"echo {word}")]}

    assert api.post("/api/v1/workflows", json=definition("mine")).status_code == 201
    schedule = api.post("/api/v1/schedules", json={"workflow_id": name, "every": "1h"})
    assert schedule.status_code == 201, schedule.text
    schedule_id = schedule.json()["id"]
    other = namespace(api)
    with client(stack, key(api, "operator", other)) as b, runner_on(stack, f"{other}/default"):
        # Another namespace's workflow and schedule are unknown to it, by id or in lists.
        assert b.get(f"/api/v1/workflows/{name}").status_code == 404
        assert name not in [w["id"] for w in b.get("/api/v1/workflows").json()["items"]]
        refused = b.post("/api/v1/executions", json={"workflow_id": name})
        assert refused.status_code == 404, refused.text
        assert b.get(f"/api/v1/schedules/{schedule_id}").status_code == 404
        assert b.post(f"/api/v1/schedules/{schedule_id}/pause").status_code == 404
        assert b.delete(f"/api/v1/schedules/{schedule_id}").status_code == 404
        assert b.get("/api/v1/schedules").json()["items"] == []
        # The same id there is a workflow of its own, with its own versions.
        theirs = b.post("/api/v1/workflows", json=definition("theirs"))
        assert (theirs.status_code, theirs.json()["version"]) == (201, 1)
        ran = create(b, {"workflow_id": name})
        assert wait_finished(b, ran)["status"] == "completed"
        lines = b.get(f"/api/v1/executions/{ran}/logs").json()["items"]
        assert [line["line"] for line in lines] == ["theirs"]
    assert api.get(f"/api/v1/workflows/{name}").json()["version"] == 1
    assert api.get(f"/api/v1/schedules/{schedule_id}").json()["status"] == "active"
    assert api.delete(f"/api/v1/schedules/{schedule_id}").status_code == 204


def test_agent_tokens_claim_their_queues_only(stack: Stack, api: httpx.Client) -> None:
    queue = f"remote-{uuid.uuid4().hex[:8]}"
    claim = "/api/v1/agent-control/claims/next"
    with client(stack, key(api, "agent", queues=[queue])) as agent:
        assert agent.get("/api/v1/executions").status_code == 403
        body = {"agent": "a1", "queues": ["elsewhere"], "wait": 0}
        refused = agent.post(claim, json=body)
        assert refused.status_code == 403 and "may claim queues" in refused.json()["reason"]
        assert agent.post(claim, json=body | {"queues": [queue]}).status_code == 204
        assert (
            agent.post(claim, json=body | {"queues": [queue], "capacity": 10**6}).status_code == 422
        )
    anonymous = httpx.post(f"{stack.config.api_url}{claim}", json=body | {"queues": [queue]})
    assert anonymous.status_code == 401
    assert api.post("/api/v1/keys", json={"role": "agent"}).status_code == 422


def test_the_cli_makes_keys_and_namespaces(stack: Stack) -> None:
    runner = CliRunner(
        env={"EXECFLOW_API_URL": stack.config.api_url} | stack.config.env_for_clients()
    )
    name = f"t-{uuid.uuid4().hex[:8]}"
    made = runner.invoke(app, ["namespaces", "create", name, "--retention", "3600"])
    assert made.exit_code == 0, made.output
    assert f"EXECFLOW_QUEUES={name}/default" in made.output  # where its work will run
    listed = runner.invoke(app, ["namespaces", "list"])
    assert name in listed.output and "default" in listed.output
    created = runner.invoke(app, ["keys", "create", "--role", "operator", "--namespace", name])
    assert created.exit_code == 0, created.output
    secret = next(line for line in created.output.splitlines() if line.startswith("efk_"))
    key_id = secret.split("_")[1]
    assert key_id in runner.invoke(app, ["keys", "list"]).output
    assert runner.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    as_it = CliRunner(env={"EXECFLOW_API_URL": stack.config.api_url, "EXECFLOW_API_KEY": secret})
    refused = as_it.invoke(app, ["execution", "list"])
    assert refused.exit_code == 1 and "401" in refused.output
    anonymous = CliRunner(env={"EXECFLOW_API_URL": stack.config.api_url, "EXECFLOW_API_KEY": ""})
    assert "API key is needed" in anonymous.invoke(app, ["execution", "list"]).output
