"""The secrets key rotated on the real stack, as the README says to: secrets set under
key 1; the api and runner restarted with key 2 current and key 1 retired (steps still
get their values); `execflow secrets rotate`; key 1 dropped (steps still get them);
key 1 alone afterwards (a step fails, naming the key its secret needs). Each stage is
checked in the table itself: which key's fingerprint each row holds."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from execflow_catalogue.keys import CURRENT, RETIRED, SecretsKey
from execflow_devstack import Stack

from .conftest import create, runner_on, running_stack, sh, wait_finished
from .test_access import client, key, namespace
from .test_secrets import cli

pytestmark = pytest.mark.e2e

KEY_1, KEY_2, KEY_3 = (SecretsKey.generate() for _ in range(3))
ID_1, ID_2 = SecretsKey(KEY_1).id, SecretsKey(KEY_2).id
# A runner that has just started takes the work once it has subscribed.
STEP_TIMEOUT_S = 60


@pytest.fixture
def stack(nats_url: str, database_url: str, tmp_path: Path) -> Iterator[Stack]:
    # Its own stack: a rotation re-seals every secret of the schema, and counts them.
    with running_stack(nats_url, database_url, tmp_path, extra_env={CURRENT: KEY_1}) as running:
        yield running


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    with client(stack, stack.config.api_key or "") as admin:
        yield admin


def restart(stack: Stack, current: str, *retired: str) -> None:
    """The api and the runner, started again with these keys (as an operator would)."""
    stack.config.extra_env |= {CURRENT: current, RETIRED: ",".join(retired)}
    for name in ("api", "runner"):
        stack.services[name].stop()
        stack.services[name].start()
    stack.wait_ready()


def sealed_with(stack: Stack) -> dict[tuple[str, str], str]:
    """Each secret's (namespace, name) → the fingerprint of the key that sealed it."""
    config = stack.config
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        rows = conn.execute(
            f'SELECT namespace, name, key_id FROM "{config.db_schema}".secrets'
        ).fetchall()
    return {(namespace, name): key_id for namespace, name, key_id in rows}


def reading(name: str) -> dict[str, object]:
    """An execution whose step writes the value of the secret `name` to its workspace."""
    step = sh("read", 'printf %s "$TOKEN" > seen.txt')
    step["run"]["env"] = {"TOKEN": {"secret": name}}
    return {"workflow": {"steps": [step]}}


def seen(stack: Stack, api: httpx.Client, name: str) -> str:
    """The value a step given the secret `name` found in its environment."""
    execution_id = create(api, reading(name))
    finished = wait_finished(api, execution_id, STEP_TIMEOUT_S)
    assert finished["status"] == "completed", finished
    return (stack.config.work_dir / execution_id / "seen.txt").read_text()


def test_a_key_is_rotated_and_steps_get_their_secrets_throughout(
    stack: Stack, api: httpx.Client
) -> None:
    ours, fresh = f"ours-{uuid.uuid4().hex[:6]}", f"fresh-{uuid.uuid4().hex[:6]}"
    theirs, value = f"theirs-{uuid.uuid4().hex[:6]}", f"v-{uuid.uuid4().hex}"
    other = namespace(api)
    with client(stack, key(api, "admin", other)) as their_admin:
        assert api.put(f"/api/v1/secrets/{ours}", json={"value": value}).status_code == 200
        made = their_admin.put(f"/api/v1/secrets/{theirs}", json={"value": "t"})
        assert made.status_code == 200
        assert sealed_with(stack) == {("default", ours): ID_1, (other, theirs): ID_1}

        # Key 2 current, key 1 retired: what key 1 sealed still opens; new values take key 2.
        restart(stack, KEY_2, KEY_1)
        assert seen(stack, api, ours) == value
        assert api.put(f"/api/v1/secrets/{fresh}", json={"value": "f"}).status_code == 200
        assert sealed_with(stack)[("default", fresh)] == ID_2

        # The key is the deployment's: a namespace's admin, or an operator, may not rotate it.
        refused = their_admin.post("/api/v1/secrets/rotate")
        assert refused.status_code == 403 and "`default`" in refused.json()["reason"]
    with client(stack, key(api, "operator")) as operator:
        assert operator.post("/api/v1/secrets/rotate").status_code == 403
    assert sealed_with(stack)[("default", ours)] == ID_1

    out = cli(stack, "secrets", "rotate")
    assert out == f"2 secret(s) re-sealed under key {ID_2}, 1 already under it\n"
    assert set(sealed_with(stack).values()) == {ID_2}
    again = api.post("/api/v1/secrets/rotate")
    assert again.status_code == 200
    assert again.json() == {"resealed": 0, "already_current": 3, "key_id": ID_2}

    # Key 1 dropped: every value opens with key 2 alone, in every namespace.
    restart(stack, KEY_2)
    assert seen(stack, api, ours) == value
    with (
        client(stack, key(api, "operator", other)) as their_operator,
        runner_on(stack, f"{other}/default"),  # its queues are its own
    ):
        assert seen(stack, their_operator, theirs) == "t"

    # Key 1 alone: the step fails to start, saying which key its secret needs.
    restart(stack, KEY_1)
    failed = wait_finished(api, create(api, reading(ours)), STEP_TIMEOUT_S)
    assert failed["status"] == "failed", failed
    error = failed["steps"][0]["error"]
    assert f"secret {ours!r} was sealed with key {ID_2}, which is not configured here" in error
    assert value not in error


def test_a_rotation_that_cannot_open_every_secret_writes_none(
    stack: Stack, api: httpx.Client
) -> None:
    unknown, known = f"unknown-{uuid.uuid4().hex[:6]}", f"known-{uuid.uuid4().hex[:6]}"
    assert api.put(f"/api/v1/secrets/{unknown}", json={"value": "u"}).status_code == 200
    restart(stack, KEY_2)  # key 1 lost: `unknown` opens with no key
    assert api.put(f"/api/v1/secrets/{known}", json={"value": "k"}).status_code == 200
    restart(stack, KEY_3, KEY_2)  # `known` could be re-sealed, `unknown` cannot
    before = sealed_with(stack)
    assert before == {("default", unknown): ID_1, ("default", known): ID_2}

    refused = api.post("/api/v1/secrets/rotate")
    assert refused.status_code == 409, refused.text
    reason = refused.json()["reason"]
    assert f"default/{unknown} (sealed with key {ID_1}," in reason
    assert known not in reason
    assert sealed_with(stack) == before  # nothing half-written: `known` kept key 2's seal
    assert seen(stack, api, known) == "k"
