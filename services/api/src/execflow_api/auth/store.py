"""API keys and namespaces in PostgreSQL (the API's own tables, api_0002_access)."""

import asyncio
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import ForeignKeyViolation, UniqueViolation
from psycopg.rows import dict_row

from execflow_contracts import Role

from .tokens import Token, hash_secret, new_token

KEY_COLUMNS = "id, namespace, role, name, queues, created_at, created_by, revoked_at"


class AccessRefused(Exception):
    """A key or namespace request that cannot be done; the message says why."""


@dataclass(frozen=True)
class StoredKey:
    key_id: str
    hash: str
    namespace: str
    role: Role
    queues: tuple[str, ...]


async def find_key(conn: AsyncConnection, key_id: str) -> StoredKey | None:
    """A key that has not been revoked."""
    cursor = await conn.execute(
        "SELECT id, hash, namespace, role, queues FROM api_keys"
        " WHERE id = %s AND revoked_at IS NULL",
        (key_id,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return StoredKey(row[0], row[1], row[2], Role(row[3]), tuple(row[4] or ()))


async def create_key(
    conn: AsyncConnection,
    namespace: str,
    role: Role,
    name: str = "",
    queues: list[str] | None = None,
    created_by: str | None = None,
) -> tuple[Token, dict[str, Any]]:
    """A new key: its token (shown once) and its row."""
    token = new_token()
    hashed = await asyncio.to_thread(hash_secret, token.secret)  # slow by design
    try:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "INSERT INTO api_keys (id, hash, namespace, role, name, queues, created_by)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {KEY_COLUMNS}",
                (token.key_id, hashed, namespace, role.value, name, queues, created_by),
            )
            row = await cur.fetchone()
    except ForeignKeyViolation:
        raise AccessRefused(f"no namespace {namespace!r}: create it first") from None
    assert row is not None
    return token, row


async def list_keys(conn: AsyncConnection, namespace: str | None) -> list[dict[str, Any]]:
    """Keys of one namespace (None: of every namespace), newest first."""
    where = "WHERE namespace = %s" if namespace is not None else ""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {KEY_COLUMNS} FROM api_keys {where} ORDER BY created_at DESC, id",
            (namespace,) if namespace is not None else (),
        )
        return await cur.fetchall()


async def revoke_key(conn: AsyncConnection, key_id: str, namespace: str | None) -> bool:
    """Whether a live key of that namespace (None: any) was revoked."""
    scope = "AND namespace = %s" if namespace is not None else ""
    cursor = await conn.execute(
        f"UPDATE api_keys SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL {scope}",
        (key_id, namespace) if namespace is not None else (key_id,),
    )
    return cursor.rowcount > 0


async def any_admin_key(conn: AsyncConnection) -> bool:
    cursor = await conn.execute(
        "SELECT 1 FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1"
    )
    return await cursor.fetchone() is not None


async def create_namespace(
    conn: AsyncConnection, name: str, retention_s: float | None
) -> dict[str, Any]:
    try:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "INSERT INTO namespaces (name, retention_s) VALUES (%s, %s)"
                " RETURNING name, retention_s, created_at",
                (name, retention_s),
            )
            row = await cur.fetchone()
    except UniqueViolation:
        raise AccessRefused(f"namespace {name!r} exists already") from None
    assert row is not None
    return row


async def list_namespaces(conn: AsyncConnection) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT name, retention_s, created_at FROM namespaces ORDER BY name")
        return await cur.fetchall()
