"""Retention that really deletes: an execution past its time to live is nowhere — not in
the database (read models, event log, log lines, the event store), not in the streams,
not in the artifact store, not in the data folder — unless a legal hold keeps it.

Every search is checked against a held execution with a secret of its own, which must
be found in each place: a search that could find nothing proves nothing."""

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest
from nats.js.errors import NotFoundError

from execflow_contracts import Topology
from execflow_devstack import Stack

from .conftest import create, runner_on, sh, wait_finished, wait_for

pytestmark = pytest.mark.e2e

STEP = (
    "echo {{ inputs.SECRET }} > out.txt; echo {{ inputs.SECRET }};"
    ' echo \'{"type":"artifact","name":"report","path":"out.txt"}\' >> "$EXECFLOW_EVENTS"'
)


def execution(api: httpx.Client, secret: str) -> str:
    body = {
        "workflow": {"steps": [sh("leak", STEP)], "ttl": {"delete_after": "1s"}},
        "input": {"SECRET": secret},
    }
    return create(api, body)


def in_database(stack: Stack, secret: str) -> list[str]:
    """The tables of the stack's schema holding the secret, as text or as bytes."""
    config = stack.config
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = %s AND table_type = 'BASE TABLE'",
                (config.db_schema,),
            ).fetchall()
        ]
        found = []
        for table in tables:
            # A row as text shows bytea columns (the event store's) as hex.
            row = conn.execute(
                f'SELECT 1 FROM "{config.db_schema}"."{table}" AS t'
                " WHERE t::text LIKE %s OR t::text LIKE %s LIMIT 1",
                (f"%{secret}%", f"%{secret.encode().hex()}%"),
            ).fetchone()
            if row is not None:
                found.append(table)
    return found


async def in_streams(stack: Stack, secret: str) -> list[str]:
    """The streams of the stack's deployment holding the secret in a message."""
    topology = Topology(stack.config.bus_prefix)
    streams = [
        topology.commands_stream,
        topology.events_stream,
        topology.work_stream,
        topology.logs_stream,
        topology.dlq_stream,
    ]
    nc = await nats.connect(stack.config.nats_url)
    found = []
    try:
        js = nc.jetstream()
        for stream in streams:
            state = (await js.stream_info(stream)).state
            for seq in range(max(state.first_seq, 1), state.last_seq + 1):
                try:
                    message = await js.get_msg(stream, seq)
                except NotFoundError:
                    continue  # deleted or purged
                if secret.encode() in (message.data or b""):
                    found.append(stream)
                    break
    finally:
        await nc.close()
    return found


def in_files(folder: Path, secret: str) -> list[str]:
    return [
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and secret.encode() in path.read_bytes()
    ]


def everywhere(stack: Stack, secret: str) -> dict[str, Any]:
    home = stack.config.work_dir.parent  # workspaces, artifacts, the services' logs
    return {
        "database": in_database(stack, secret),
        "streams": asyncio.run(in_streams(stack, secret)),
        "files": in_files(home, secret),
    }


def test_an_expired_execution_is_nowhere_unless_held(stack: Stack, api: httpx.Client) -> None:
    gone_secret, held_secret = f"xyz-{uuid.uuid4().hex}", f"xyz-{uuid.uuid4().hex}"
    held = execution(api, held_secret)
    wait_for(lambda: api.get(f"/api/v1/executions/{held}").status_code == 200)  # projected
    hold = api.post(f"/api/v1/executions/{held}/hold", json={"reason": "case 42"})
    assert hold.status_code == 200, hold.text
    assert hold.json()["reason"] == "case 42"
    gone = execution(api, gone_secret)
    assert wait_finished(api, gone)["status"] == "completed"
    assert wait_finished(api, held)["status"] == "completed"
    artifacts = api.get(f"/api/v1/executions/{gone}/artifacts/report")
    assert artifacts.text.strip() == gone_secret

    # Expired 1 s after its end; forgotten by the scheduler 2 s after that.
    wait_for(lambda: api.get(f"/api/v1/executions/{gone}").status_code == 404, 20, "expiry")
    wait_for(lambda: not any(everywhere(stack, gone_secret).values()), 20, "forgetting")

    # The held one, past its time to live too, is everywhere still.
    kept = everywhere(stack, held_secret)
    assert api.get(f"/api/v1/executions/{held}").status_code == 200
    assert {"executions", "event_log", "log_lines"} <= set(kept["database"])
    assert any(table.endswith("_events") for table in kept["database"]), kept
    assert set(kept["streams"]) >= {Topology(stack.config.bus_prefix).events_stream}
    assert any("artifacts" in path for path in kept["files"]), kept

    # Released, it expires at once (its time is past) and is forgotten as well.
    assert api.delete(f"/api/v1/executions/{held}/hold").status_code == 204
    wait_for(lambda: api.get(f"/api/v1/executions/{held}").status_code == 404, 20, "release")
    wait_for(lambda: not any(everywhere(stack, held_secret).values()), 20, "forgetting held")


def test_holds_by_query_and_a_namespaces_default_retention(stack: Stack, api: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    body = {"workflow": {"steps": [sh("a", "true")]}, "metadata": {"case": tag}}
    first, second = create(api, body), create(api, body)
    wait_finished(api, first), wait_finished(api, second)
    made = api.post("/api/v1/holds", params={"metadata.case": tag}, json={"reason": "audit"})
    assert made.json() == {"matched": 2, "held": 2}
    assert api.get(f"/api/v1/executions/{first}/hold").json()["reason"] == "audit"
    operator = api.post("/api/v1/keys", json={"role": "operator"}).json()["key"]
    as_operator = {"Authorization": f"Bearer {operator}"}
    refused = api.post(f"/api/v1/executions/{first}/hold", headers=as_operator)
    assert refused.status_code == 403

    name = f"r-{uuid.uuid4().hex[:8]}"
    assert api.post("/api/v1/namespaces", json={"name": name, "retention_s": 1}).status_code == 201
    key = api.post("/api/v1/keys", json={"role": "operator", "namespace": name}).json()["key"]
    with (
        httpx.Client(
            base_url=stack.config.api_url, timeout=10, headers={"Authorization": f"Bearer {key}"}
        ) as tenant,
        runner_on(stack, f"{name}/default"),
    ):
        short = create(tenant, {"workflow": {"steps": [sh("a", "true")]}})
        assert wait_finished(tenant, short)["status"] == "completed"
        wait_for(lambda: tenant.get(f"/api/v1/executions/{short}").status_code == 404, 20)
