"""One PostgreSQL role per service, allowed to write only the tables it owns.

Migrations run as the owner of the schema (the URL an operator gives `execflow up` or
`execflow migrate`); the services log in as their own roles: the scheduler writes the
event store and its own tables (timers, held work, the relay's position) and advances
schedules; the projector writes the read models; the api writes the catalogue and its
own tables (keys, namespaces, the test platform's). Every role may read the schema
(the api reads read models and the event store's history, the scheduler the catalogue,
the holds, the projector the event store when it rebuilds). The runner reads one table,
the secrets (sealed: it opens them with the secrets key), and nothing else.
"""

from dataclasses import dataclass

import psycopg
from psycopg import sql

SCHEDULER, PROJECTOR, API, RUNNER = "scheduler", "projector", "api", "runner"
ROLES = (SCHEDULER, PROJECTOR, API, RUNNER)
# Roles that read only these tables, not the whole schema.
READS_ONLY: dict[str, tuple[str, ...]] = {RUNNER: ("secrets",)}

# The tables each service writes (INSERT, UPDATE, DELETE). A table a migration adds
# must be named here (a test fails on a table of no one's).
WRITES: dict[str, tuple[str, ...]] = {
    SCHEDULER: (
        "execflow_events",  # the event store (see ExecutionsApplication.name)
        "timers",
        "work_slots",
        "gate_holders",
        "relay_position",
        "relay_streams",
        "writer_epoch",
    ),
    PROJECTOR: (
        "projection_positions",
        "executions",
        "steps",
        "attempts",
        "transitions",
        "log_lines",
        "event_log",
        "execution_metrics",
    ),
    API: (
        "workflow_definitions",
        "schedules",
        "queue_limits",
        "legal_holds",
        "namespaces",
        "api_keys",
        "secrets",
        "platform_suites",
        "platform_profiles",
        "platform_settings",
    ),
}
# Updated besides: a schedule's next fire, by the scheduler that fires it.
UPDATES: dict[str, tuple[str, ...]] = {SCHEDULER: ("schedules",)}
# The migrations' own bookkeeping: the owner's alone.
MIGRATION_TABLES = ("_yoyo_log", "_yoyo_migration", "_yoyo_version", "yoyo_lock")


@dataclass(frozen=True)
class Role:
    service: str
    name: str
    password: str


def role_name(schema: str, service: str) -> str:
    """A deployment's roles are named by its schema: several share a server."""
    return f"{schema}_{service}"


def grant_roles(admin_url: str, schema: str, roles: list[Role]) -> None:
    """Create or update the roles (login, password) and grant each what it may do on
    `schema`'s tables, as they are now (run again after migrations)."""
    with psycopg.connect(admin_url, autocommit=True) as conn, conn.transaction():
        for role in roles:
            _ensure_role(conn, role)
            _grant(conn, schema, role)


def _ensure_role(conn: psycopg.Connection, role: Role) -> None:
    name = sql.Identifier(role.name)
    found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role.name,)).fetchone()
    verb = sql.SQL("ALTER") if found else sql.SQL("CREATE")
    # No superuser, no new databases or roles, no inheriting another role's rights.
    options = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD")
    conn.execute(
        sql.SQL("{} ROLE {} {} {}").format(verb, name, options, sql.Literal(role.password))
    )


def _grant(conn: psycopg.Connection, schema: str, role: Role) -> None:
    s, r = sql.Identifier(schema), sql.Identifier(role.name)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r))
    conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(s, r))
    conn.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(s, r))
    if role.service in READS_ONLY:
        tables = _tables(schema, READS_ONLY[role.service])
        conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(tables, r))
    else:
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(s, r))
    # Identity and serial columns draw from sequences.
    conn.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(s, r))
    writes = WRITES.get(role.service, ())
    if writes:
        conn.execute(
            sql.SQL("GRANT INSERT, UPDATE, DELETE ON {} TO {}").format(_tables(schema, writes), r)
        )
    updates = UPDATES.get(role.service, ())
    if updates:
        conn.execute(sql.SQL("GRANT UPDATE ON {} TO {}").format(_tables(schema, updates), r))


def _tables(schema: str, names: tuple[str, ...]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(schema, name) for name in names)


def service_url(database_url: str, role: Role) -> str:
    """The URL a service logs in with: the owner's, with the role's name and password."""
    return psycopg.conninfo.make_conninfo(database_url, user=role.name, password=role.password)
