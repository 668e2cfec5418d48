"""Secrets at rest: each value sealed with AES-GCM (a 256-bit key from the environment,
`EXECFLOW_SECRETS_KEY`; a fresh 96-bit nonce per value), with its namespace and name as
associated data, so a sealed value copied to another row does not open, and its key's
fingerprint, which picks the key that opens it (`keys`). The API seals, lists and
rotates; runners (and the API, for remote agents) open the ones a step names, as it
starts. Nothing here logs a value."""

from collections.abc import Mapping
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from execflow_contracts import DEFAULT_NAMESPACE, SecretNotFound, SecretsUnavailable

from .keys import NO_KEY, RETIRED, SecretsKey, SecretsKeyring, load_key, load_keyring

COLUMNS = "name, namespace, created_at, updated_at, updated_by"


async def put(
    conn: AsyncConnection,
    keyring: SecretsKeyring | None,
    namespace: str,
    name: str,
    value: str,
    actor: str | None,
) -> dict[str, Any]:
    """Set (or replace) the secret, sealed with the current key; its row as anyone may
    see it."""
    if keyring is None:
        raise SecretsUnavailable(NO_KEY)
    sealed, key_id = keyring.seal(namespace, name, value)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "INSERT INTO secrets (namespace, name, sealed, key_id, updated_by)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (namespace, name) DO UPDATE SET"
            " sealed = EXCLUDED.sealed, key_id = EXCLUDED.key_id, updated_at = now(),"
            f" updated_by = EXCLUDED.updated_by RETURNING {COLUMNS}",
            (namespace, name, sealed, key_id, actor),
        )
        row = await cur.fetchone()
    assert row is not None
    return row


async def listed(conn: AsyncConnection, namespace: str) -> list[dict[str, Any]]:
    """The namespace's secrets by name: names and dates, never values."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {COLUMNS} FROM secrets WHERE namespace = %s ORDER BY name", (namespace,)
        )
        return await cur.fetchall()


async def delete(conn: AsyncConnection, namespace: str, name: str) -> bool:
    cursor = await conn.execute(
        "DELETE FROM secrets WHERE namespace = %s AND name = %s", (namespace, name)
    )
    return cursor.rowcount > 0


async def values(
    conn: AsyncConnection,
    keyring: SecretsKeyring | None,
    namespace: str | None,
    wanted: Mapping[str, str],
) -> dict[str, str]:
    """`wanted` (variable → secret name) with each name's value; SecretNotFound names
    every one the namespace lacks, SecretsUnavailable says there is no key to open them."""
    if not wanted:
        return {}
    if keyring is None:
        raise SecretsUnavailable(f"the step names secrets, but {NO_KEY}")
    namespace = namespace or DEFAULT_NAMESPACE
    cursor = await conn.execute(
        "SELECT name, sealed, key_id FROM secrets WHERE namespace = %s AND name = ANY(%s)",
        (namespace, sorted(set(wanted.values()))),
    )
    found: dict[str, str] = {}
    for name, sealed, key_id in await cursor.fetchall():
        found[name] = keyring.open(namespace, name, bytes(sealed), key_id)
    missing = sorted(set(wanted.values()) - found.keys())
    if missing:
        raise SecretNotFound(
            f"namespace {namespace!r} has no secret {', '.join(map(repr, missing))}"
            " (execflow secrets set NAME)"
        )
    return {variable: found[name] for variable, name in wanted.items()}


async def rotate(conn: AsyncConnection, keyring: SecretsKeyring | None) -> dict[str, Any]:
    """Re-seal every secret of every namespace under the current key, in one transaction:
    those sealed with it already are left as they are (so a second call re-seals
    nothing); if any does not open with a key of the keyring, SecretsUnavailable names
    them all and nothing is written."""
    if keyring is None:
        raise SecretsUnavailable(NO_KEY)
    current = keyring.current.id
    async with conn.transaction():
        # Locked: a secret replaced meanwhile waits, and is then sealed with the current key.
        cursor = await conn.execute(
            "SELECT namespace, name, sealed, key_id FROM secrets"
            " ORDER BY namespace, name FOR UPDATE"
        )
        rows = await cursor.fetchall()
        resealed: list[tuple[bytes, str, str, str]] = []
        unopened: list[str] = []
        for namespace, name, sealed, key_id in rows:
            if key_id == current:
                continue
            try:
                value = keyring.open(namespace, name, bytes(sealed), key_id)
            except SecretsUnavailable:
                unopened.append(f"{namespace}/{name} ({_why(keyring, key_id)})")
                continue
            resealed.append((*keyring.seal(namespace, name, value), namespace, name))
        if unopened:
            raise SecretsUnavailable(
                f"{len(unopened)} secret(s) open with no key configured here, so none was"
                f" re-sealed: {'; '.join(unopened)} (give their key in {RETIRED}, or set"
                " them again)"
            )
        async with conn.cursor() as cur:
            await cur.executemany(
                "UPDATE secrets SET sealed = %s, key_id = %s WHERE namespace = %s AND name = %s",
                resealed,
            )
    return {
        "resealed": len(resealed),
        "already_current": len(rows) - len(resealed),
        "key_id": current,
    }


def _why(keyring: SecretsKeyring, key_id: str) -> str:
    if key_id in keyring.retired_ids:
        return "altered: it does not open with the key that sealed it"
    return f"sealed with key {key_id}, which is neither current nor retired here"


__all__ = [
    "NO_KEY",
    "SecretsKey",
    "SecretsKeyring",
    "delete",
    "listed",
    "load_key",
    "load_keyring",
    "put",
    "rotate",
    "values",
]
