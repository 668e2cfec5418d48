"""The services' database roles: every table is someone's to write, and a role writes
its own tables only, on a schema the migrations made."""

import uuid

import psycopg
import pytest

from execflow_ops.roles import MIGRATION_TABLES, WRITES, Role, grant_roles, role_name, service_url
from execflow_platform import schema_conninfo

from ..conftest import Names


def tables_of(database_url: str, schema: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
        return {name for (name,) in rows.fetchall()}


def test_every_table_the_migrations_make_is_written_by_one_service(
    database_url: str, provisioned: Names
) -> None:
    owned = [table for tables in WRITES.values() for table in tables]
    assert len(owned) == len(set(owned)), "a table written by two services"
    found = tables_of(database_url, provisioned.schema)
    assert found == set(owned) | set(MIGRATION_TABLES)


def test_a_role_writes_its_own_tables_reads_the_rest_and_may_be_granted_again(
    database_url: str, provisioned: Names
) -> None:
    schema = provisioned.schema
    roles = [Role(s, role_name(schema, s), uuid.uuid4().hex) for s in WRITES]
    grant_roles(database_url, schema, roles)
    grant_roles(database_url, schema, roles)  # after a migration, say: the same grants
    projector = next(r for r in roles if r.service == "projector")
    url = schema_conninfo(service_url(database_url, projector), schema)
    with psycopg.connect(url) as conn:
        conn.execute("SELECT count(*) FROM execflow_events").fetchone()  # reads anything
        conn.execute("DELETE FROM executions")  # writes its read models
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM api_keys")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE mine (x int)")
