"""Listing executions: filters, sort keys and keyset cursors, as SQL over indexed columns.

A page ends at the sort key and id of its last row; the next page starts strictly after
it. New executions therefore never shift the pages a client is walking through, and no
row is repeated or skipped unless its own sort key changes meanwhile (a running
execution that finishes while you page by `finished`).
"""

import base64
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from execflow_contracts import DEFAULT_NAMESPACE, loads_bounded

LIST_COLUMNS = (
    "id, status, message, input, metadata, output, error, n_steps, workflow_id, name, queue,"
    " worker, parent_id, schedule_id, duration_ms, created_at, queued_at, started_at,"
    " completed_at, updated_at"
)


class SortKey(StrEnum):
    CREATED = "created"
    STARTED = "started"
    FINISHED = "finished"
    DURATION = "duration"


class Order(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True)
class Sort:
    """How one sort key is read, compared and indexed (see schema_queries)."""

    column: str
    sql_type: str
    # Keys that are empty until later sort as this value, so one b-tree serves them.
    empty_as: str | None = None

    @property
    def expression(self) -> str:
        return f"COALESCE({self.column}, {self.empty_as})" if self.empty_as else self.column

    @property
    def cursor_expression(self) -> str:
        param = f"%s::{self.sql_type}"
        return f"COALESCE({param}, {self.empty_as})" if self.empty_as else param


SORTS = {
    SortKey.CREATED: Sort("created_at", "timestamptz"),
    SortKey.STARTED: Sort("started_at", "timestamptz", "'infinity'::timestamptz"),
    SortKey.FINISHED: Sort("completed_at", "timestamptz", "'infinity'::timestamptz"),
    SortKey.DURATION: Sort("duration_ms", "bigint", "9223372036854775807"),
}


@dataclass(frozen=True)
class Filters:
    statuses: list[str] = field(default_factory=list)
    workflow_id: str | None = None
    queue: str | None = None
    worker: str | None = None
    parent_id: UUID | None = None
    schedule_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    created_after: datetime | None = None
    created_before: datetime | None = None
    finished_after: datetime | None = None
    finished_before: datetime | None = None
    q: str | None = None
    # Whose executions: every listing is of one namespace, the caller's.
    namespace: str = DEFAULT_NAMESPACE


@dataclass(frozen=True)
class Page:
    sort: SortKey = SortKey.CREATED
    order: Order = Order.DESC
    limit: int = 50
    cursor: str | None = None


class InvalidQuery(ValueError):
    """A filter or cursor this API cannot use; the message says which and why."""


async def list_executions(
    conn: AsyncConnection, filters: Filters, page: Page
) -> tuple[list[dict[str, Any]], str | None]:
    where, params = conditions(filters)
    sort = SORTS[page.sort]
    if page.cursor:
        key, last_id = decode_cursor(page.cursor, page)
        compare = "<" if page.order is Order.DESC else ">"
        where.append(f"({sort.expression}, id) {compare} ({sort.cursor_expression}, %s)")
        params += [key, last_id]
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    direction = page.order.value.upper()
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {LIST_COLUMNS} FROM executions {clause}"
            f" ORDER BY {sort.expression} {direction}, id {direction} LIMIT %s",
            [*params, page.limit + 1],
        )
        rows = await cur.fetchall()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return rows, encode_cursor(page, rows[-1]) if more else None


def conditions(f: Filters) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []

    def add(sql: str, *values: Any) -> None:
        where.append(sql)
        params.extend(values)

    add("namespace = %s", f.namespace)
    if f.statuses:
        add("status = ANY(%s)", f.statuses)
    for column in ("workflow_id", "queue", "worker", "parent_id", "schedule_id"):
        if (value := getattr(f, column)) is not None:
            add(f"{column} = %s", value)
    for key, value in f.metadata.items():
        sql, values = metadata_condition(key, value)
        add(sql, *values)
    if f.created_after:
        add("created_at >= %s", utc(f.created_after))
    if f.created_before:
        add("created_at < %s", utc(f.created_before))
    finished = SORTS[SortKey.FINISHED].expression  # so the index on it serves these too
    if f.finished_after:
        add(f"{finished} >= %s AND {finished} < 'infinity'", utc(f.finished_after))
    if f.finished_before:
        add(f"{finished} < %s", utc(f.finished_before))
    if f.q:
        sql, values = text_condition(f.q)
        add(sql, *values)
    return where, params


def metadata_condition(key: str, value: str) -> tuple[str, list[Any]]:
    """`metadata.k=v` matches the string "v", or also the JSON scalar v (5, true, null),
    as a containment the GIN index answers."""
    if not key:
        raise InvalidQuery("metadata filters need a key: metadata.<key>=<value>")
    candidates: list[Any] = [value]
    try:
        parsed = loads_bounded(value)
        # "8e123456" reads as infinity, which JSON (and jsonb) cannot hold: a string only.
        finite = not isinstance(parsed, float) or math.isfinite(parsed)
        if (isinstance(parsed, int | float | bool) or parsed is None) and finite:
            candidates.append(parsed)
    except ValueError:
        pass
    sql = " OR ".join("metadata @> %s" for _ in candidates)
    return f"({sql})", [Jsonb({key: c}) for c in candidates]


def text_condition(q: str) -> tuple[str, list[Any]]:
    """A whole id matches exactly (by the primary key); anything else is a prefix of an
    id or a part of a name."""
    try:
        return "id = %s", [UUID(q)]
    except ValueError:
        pass
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "(id::text LIKE %s OR name ILIKE %s)", [f"{escaped.lower()}%", f"%{escaped}%"]


def utc(moment: datetime) -> datetime:
    """A time without a zone is taken as UTC, whatever the database session's zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def encode_cursor(page: Page, row: dict[str, Any]) -> str:
    key = row[SORTS[page.sort].column]
    if isinstance(key, datetime):
        key = key.isoformat()
    raw = json.dumps([page.sort.value, page.order.value, key, str(row["id"])])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, page: Page) -> tuple[Any, UUID]:
    """The last row's sort key and id; refuses cursors of another sort or not ours."""
    try:
        sort, order, key, last_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if isinstance(key, str):
            key = datetime.fromisoformat(key)
        elif key is not None and not isinstance(key, int):
            raise TypeError(key)
        decoded = (key, UUID(last_id))
    except Exception:
        raise InvalidQuery(f"invalid cursor: {cursor!r}") from None
    if (sort, order) != (page.sort.value, page.order.value):
        raise InvalidQuery(
            f"this cursor pages by sort={sort}&order={order}, not"
            f" sort={page.sort.value}&order={page.order.value}"
        )
    return decoded
