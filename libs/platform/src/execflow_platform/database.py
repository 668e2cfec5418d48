"""PostgreSQL connection details shared by the services."""

import contextlib

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


def schema_conninfo(database_url: str, schema: str) -> str:
    """A conninfo whose sessions resolve unqualified names in `schema` first."""
    return make_conninfo(database_url, options=f"-c search_path={schema},public")


def eventsourcing_env(database_url: str, schema: str) -> dict[str, str]:
    """The `eventsourcing` library's PostgreSQL settings, derived from our one URL."""
    parts = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(parts.get("dbname", "execflow")),
        "POSTGRES_HOST": str(parts.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(parts.get("port", "5432")),
        "POSTGRES_USER": str(parts.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(parts.get("password", "")),
        "POSTGRES_SCHEMA": schema,
    }


def ensure_schema(database_url: str, schema: str) -> None:
    """Create the schema if needed; concurrent creators are tolerated."""
    # UniqueViolation: another process created it between the check and the insert.
    with (
        psycopg.connect(database_url, autocommit=True) as conn,
        contextlib.suppress(psycopg.errors.UniqueViolation),
    ):
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
