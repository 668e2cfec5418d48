"""Each service owns its tables: `execflow-<service> migrate` makes them, once."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

BIN = Path(sys.executable).parent
OWNED = {
    "scheduler": {
        "timers",
        "work_slots",
        "gate_holders",
        "relay_position",
        "writer_epoch",
        "relay_streams",
        "execflow_events",
    },
    "projector": {
        "executions",
        "steps",
        "attempts",
        "transitions",
        "log_lines",
        "event_log",
        "projection_positions",
        "execution_metrics",
    },
    "api": {
        "workflow_definitions",
        "schedules",
        "queue_limits",
        "platform_suites",
        "platform_profiles",
        "platform_settings",
        "api_keys",
        "namespaces",
        "legal_holds",
    },
    "runner": set(),
}


def migrate(service: str, database_url: str, schema: str) -> str:
    env = os.environ | {"EXECFLOW_DATABASE_URL": database_url, "EXECFLOW_DB_SCHEMA": schema}
    done = subprocess.run(
        [BIN / f"execflow-{service}", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def tables(database_url: str, schema: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,),
        ).fetchall()
    return {name for (name,) in rows if not name.startswith(("_yoyo", "yoyo"))}


@pytest.mark.parametrize("service", OWNED)
def test_a_service_makes_its_own_tables_and_a_second_migrate_changes_nothing(
    service: str, database_url: str
) -> None:
    schema = f"m{uuid.uuid4().hex[:12]}"
    first = migrate(service, database_url, schema)
    assert tables(database_url, schema) == OWNED[service]
    again = migrate(service, database_url, schema)
    assert again.startswith(f"execflow-{service}: 0 migration(s) applied")
    if OWNED[service]:
        assert not first.startswith(f"execflow-{service}: 0 migration(s)")


def test_importing_the_domain_loads_neither_the_bus_nor_the_database() -> None:
    probe = (
        "import sys, execflow_scheduler.domain, execflow_contracts, execflow_workflows;"
        "print(sorted(m for m in ('nats', 'psycopg', 'psycopg_pool') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.strip() == "[]"
