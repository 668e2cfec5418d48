"""Secrets against the real stack: a step named in `env` as `{secret: NAME}` gets the
value as it starts, and nothing execflow keeps holds it in clear — not the event store,
the EVENTS stream or any other, the read models, the logs API, the history export, the
step's log file, the services' logs. Every search is checked against the secret's name,
which must be found: a search that could find nothing proves nothing."""

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from execflow.cli import app
from execflow_catalogue.secrets import SecretsKey
from execflow_contracts import Topology
from execflow_devstack import Stack

from .conftest import create, logs_until, runner_on, running_stack, sh, wait_finished
from .test_access import client, key, namespace
from .test_remote_agents import agents, start_agent  # noqa: F401 (a fixture)
from .test_retention import in_database, in_files, in_streams

pytestmark = pytest.mark.e2e

# Writes the value to its log (a line of its own and within one), to a file of its
# workspace, and to its facts (a progress message and its output).
LEAK = (
    'echo "token=$TOKEN"; echo "$TOKEN"; printf %s "$TOKEN" > seen.txt;'
    ' echo "{\\"type\\":\\"progress\\",\\"current\\":1,\\"max\\":2,\\"message\\":\\"$TOKEN\\"}"'
    ' >> "$EXECFLOW_EVENTS";'
    ' echo "{\\"type\\":\\"output\\",\\"value\\":{\\"token\\":\\"$TOKEN\\"}}" >> "$EXECFLOW_EVENTS"'
)


@pytest.fixture(scope="module")
def stack(
    nats_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    env = {"EXECFLOW_SECRETS_KEY": SecretsKey.generate()}
    home = tmp_path_factory.mktemp("secrets")
    with running_stack(nats_url, database_url, home, extra_env=env) as running:
        yield running


def cli(stack: Stack, *args: str, stdin: str | None = None) -> str:
    runner = CliRunner(
        env={"EXECFLOW_API_URL": stack.config.api_url} | stack.config.env_for_clients()
    )
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def leaking(name: str, **step: object) -> dict[str, object]:
    """An execution whose step names the secret `name` and writes its value everywhere."""
    leak = sh("leak", LEAK, **step)
    leak["run"]["env"] = {"TOKEN": {"secret": name}, "PLAIN": "visible"}
    return {"workflow": {"steps": [leak]}}


def test_a_step_gets_its_secret_and_nothing_keeps_it_in_clear(
    stack: Stack, api: httpx.Client
) -> None:
    name, value = f"deploy-token-{uuid.uuid4().hex[:6]}", f"s3cr3t-{uuid.uuid4().hex}"
    assert "set in namespace default" in cli(stack, "secrets", "set", name, stdin=value + "\n")
    assert name in cli(stack, "secrets", "list")
    listed = api.get("/api/v1/secrets").json()["items"]
    assert [s["name"] for s in listed if s["name"] == name] == [name]
    assert value not in api.get("/api/v1/secrets").text

    execution_id = create(api, leaking(name))
    finished = wait_finished(api, execution_id)
    assert finished["status"] == "completed", finished
    # The step saw the value (it wrote it to its workspace, which is the step's own).
    seen = stack.config.work_dir / execution_id / "seen.txt"
    assert seen.read_text() == value

    lines = logs_until(api, execution_id, lambda ls: len(ls) >= 2)
    assert [line["line"] for line in lines][:2] == ["token=***", "***"]
    step = api.get(f"/api/v1/executions/{execution_id}").json()["steps"][0]
    assert step["output"] == {"token": "***"}
    log_file = api.get(f"/api/v1/executions/{execution_id}/artifacts/leak.log")
    assert log_file.status_code == 200 and "token=***" in log_file.text
    for path in ("", "/history", "/transitions", "/logs", "/artifacts"):
        shown = api.get(f"/api/v1/executions/{execution_id}{path}").text
        assert value not in shown, path
    exported = api.get("/api/v1/history").text
    assert execution_id in exported and value not in exported
    # Its spec keeps the name: the searches below find it where they find no value.
    assert name in api.get(f"/api/v1/executions/{execution_id}/history").text

    # Workspaces, artifacts, the services' logs: the value is only in the files the step
    # wrote itself (its own workspace); the log file the runner keeps there is masked.
    found = in_files(stack.config.work_dir.parent, value)
    control = f"workspaces/{execution_id}/.execflow/leak.1.1"
    assert set(found) == {f"workspaces/{execution_id}/seen.txt", f"{control}.events.jsonl"}
    assert "token=***" in (stack.config.work_dir.parent / f"{control}.log").read_text()
    assert in_database(stack, value) == []
    named = in_database(stack, name)
    assert {"executions", "event_log"} <= set(named), named
    assert any(table.endswith("_events") for table in named), named
    assert asyncio.run(in_streams(stack, value)) == []
    topology = Topology(stack.config.bus_prefix)
    assert topology.events_stream in asyncio.run(in_streams(stack, name))


def test_who_may_set_list_and_use_a_secret(stack: Stack, api: httpx.Client) -> None:
    name = f"shared-{uuid.uuid4().hex[:6]}"
    with client(stack, key(api, "reader")) as reader, client(stack, key(api, "operator")) as op:
        refused = reader.put(f"/api/v1/secrets/{name}", json={"value": "v"})
        assert refused.status_code == 403 and "admin" in refused.json()["reason"]
        assert op.put(f"/api/v1/secrets/{name}", json={"value": "v"}).status_code == 403
        assert reader.get("/api/v1/secrets").status_code == 403
        assert api.put(f"/api/v1/secrets/{name}", json={"value": "v1"}).status_code == 200
        assert name in [s["name"] for s in op.get("/api/v1/secrets").json()["items"]]
        assert op.delete(f"/api/v1/secrets/{name}").status_code == 403
    # Another namespace neither sees nor uses it: its step fails to start, saying why.
    other = namespace(api)
    with client(stack, key(api, "admin", other)) as b, runner_on(stack, f"{other}/default"):
        assert name not in b.get("/api/v1/secrets").text
        assert b.delete(f"/api/v1/secrets/{name}").status_code == 404
        theirs = wait_finished(b, create(b, leaking(name)))
        assert theirs["status"] == "failed"
        error = theirs["steps"][0]["error"]
        assert f"namespace {other!r} has no secret {name!r}" in error, error
    # Deleted, it is gone for its own namespace too.
    assert "deleted" in cli(stack, "secrets", "delete", name)
    assert name not in api.get("/api/v1/secrets").text
    gone = wait_finished(api, create(api, leaking(name)))
    assert gone["status"] == "failed" and "has no secret" in gone["steps"][0]["error"]


def test_a_bad_secret_reference_is_refused_when_the_execution_is_created(
    api: httpx.Client,
) -> None:
    for bad in ({"secret": "no/slashes"}, {"secret": "x", "namespace": "default"}, {"name": "x"}):
        body = leaking("x")
        body["workflow"]["steps"][0]["run"]["env"] = {"TOKEN": bad}  # type: ignore[index]
        refused = api.post("/api/v1/executions", json=body)
        assert refused.status_code == 422, (bad, refused.text)


def test_without_a_key_secrets_cannot_be_set_and_a_step_that_names_one_says_why(
    nats_url: str, database_url: str, tmp_path: Path
) -> None:
    unset = {"EXECFLOW_SECRETS_KEY": ""}
    with (
        running_stack(nats_url, database_url, tmp_path, extra_env=unset) as bare,
        httpx.Client(
            base_url=bare.config.api_url, timeout=10, headers=bare.config.api_headers
        ) as api,
    ):
        refused = api.put("/api/v1/secrets/x", json={"value": "v"})
        assert refused.status_code == 409, refused.text
        assert "EXECFLOW_SECRETS_KEY" in refused.json()["reason"]
        failed = wait_finished(api, create(api, leaking("x")))
        assert failed["status"] == "failed"
        assert "no secrets key is configured" in failed["steps"][0]["error"]


def test_a_remote_agents_step_gets_its_secret_and_reports_it_masked(
    stack: Stack,
    api: httpx.Client,
    agents: list[subprocess.Popen[bytes]],  # noqa: F811
    tmp_path: Path,
) -> None:
    # The API opens it as the agent claims the step, and masks what the agent reports.
    name, value = f"agent-token-{uuid.uuid4().hex[:6]}", f"s3cr3t-{uuid.uuid4().hex}"
    assert api.put(f"/api/v1/secrets/{name}", json={"value": value}).status_code == 200
    queue = f"remote-{uuid.uuid4().hex[:8]}"
    execution_id = create(api, leaking(name, queue=queue))
    agents.append(start_agent(stack, queue, "secret-agent", tmp_path))
    finished = wait_finished(api, execution_id, timeout_s=30)
    assert finished["status"] == "completed", finished
    assert finished["steps"][0]["worker"] == "secret-agent"
    assert (tmp_path / execution_id / "seen.txt").read_text() == value
    lines = logs_until(api, execution_id, lambda ls: len(ls) >= 2)
    assert [line["line"] for line in lines][:2] == ["token=***", "***"]
    assert finished["steps"][0]["output"] == {"token": "***"}
    assert asyncio.run(in_streams(stack, value)) == []
