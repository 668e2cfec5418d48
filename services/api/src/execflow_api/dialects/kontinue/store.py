"""Reads of execflow's read models for kontinue's resources: by name (the id is made from
it), by namespace and labels (metadata containment, which the GIN index answers), the
changes a watch waits for, and which running executions only wait on children."""

import base64
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .translate import LABELS_KEY, NAMESPACE_KEY

COLUMNS = (
    "id, version, status, message, metadata, output, worker, progress,"
    " created_at, started_at, completed_at, projected_at"
)


def selector(namespace: str | None, labels: dict[str, str]) -> Jsonb:
    """The metadata every listed execution holds: kontinue's, of this namespace."""
    wanted: dict[str, Any] = {LABELS_KEY: labels} if labels else {}
    return Jsonb(wanted | {NAMESPACE_KEY: namespace} if namespace else wanted)


# `tenant`: the execflow namespace of the key that asks (kontinue's own namespaces are
# Kubernetes', kept in the metadata); another tenant's executions are not found.
async def one(conn: AsyncConnection, execution_id: UUID, tenant: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {COLUMNS} FROM executions WHERE id = %s AND metadata ? %s AND namespace = %s",
            (execution_id, NAMESPACE_KEY, tenant),
        )
        return await cur.fetchone()


async def page(
    conn: AsyncConnection,
    tenant: str,
    namespace: str | None,
    labels: dict[str, str],
    limit: int,
    after: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Oldest first, as Kubernetes lists; the `continue` token of the next page."""
    where = ["metadata @> %s", "metadata ? %s", "namespace = %s"]
    params: list[Any] = [selector(namespace, labels), NAMESPACE_KEY, tenant]
    if after:
        created, last = decode(after)
        where.append("(created_at, id) > (%s, %s)")
        params += [created, last]
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {COLUMNS} FROM executions WHERE {' AND '.join(where)}"
            " ORDER BY created_at, id LIMIT %s",
            [*params, limit + 1],
        )
        rows = await cur.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode(rows[-1]) if more else None


async def changed_since(
    conn: AsyncConnection,
    tenant: str,
    namespace: str | None,
    labels: dict[str, str],
    since: datetime,
) -> list[dict[str, Any]]:
    """Executions whose rows took an event at or after `since` (by the database clock)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {COLUMNS} FROM executions WHERE metadata @> %s AND metadata ? %s"
            " AND namespace = %s AND projected_at >= %s ORDER BY projected_at",
            (selector(namespace, labels), NAMESPACE_KEY, tenant, since),
        )
        return await cur.fetchall()


async def now(conn: AsyncConnection) -> datetime:
    cursor = await conn.execute("SELECT clock_timestamp()")
    row = await cursor.fetchone()
    assert row is not None
    moment: datetime = row[0]
    return moment


async def waiting_on_children(conn: AsyncConnection, ids: list[UUID]) -> set[UUID]:
    """The executions whose running steps all wait on a child execution."""
    cursor = await conn.execute(
        "SELECT execution_id FROM steps WHERE execution_id = ANY(%s) AND status = 'running'"
        " GROUP BY execution_id HAVING bool_and(child_id IS NOT NULL)",
        (ids,),
    )
    return {row[0] for row in await cursor.fetchall()}


async def transitions_of(
    conn: AsyncConnection, ids: list[UUID]
) -> dict[UUID, list[dict[str, Any]]]:
    """Each execution's moves, in order."""
    found: dict[UUID, list[dict[str, Any]]] = {}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            'SELECT execution_id, type, from_status AS "from", to_status AS "to", reason, at'
            " FROM transitions WHERE execution_id = ANY(%s) ORDER BY execution_id, version",
            (ids,),
        )
        for move in await cur.fetchall():
            found.setdefault(move.pop("execution_id"), []).append(move)
    return found


def encode(row: dict[str, Any]) -> str:
    raw = json.dumps([row["created_at"].isoformat(), str(row["id"])])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode(token: str) -> tuple[datetime, UUID]:
    """ValueError if the token is not one of ours."""
    try:
        created, last = json.loads(base64.urlsafe_b64decode(token.encode()))
        return datetime.fromisoformat(created), UUID(last)
    except Exception:
        raise ValueError(f"invalid continue token: {token!r}") from None
