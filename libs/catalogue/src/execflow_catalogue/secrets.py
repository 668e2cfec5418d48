"""Secrets at rest: each value sealed with AES-GCM (a 256-bit key from the environment,
`EXECFLOW_SECRETS_KEY`; a fresh 96-bit nonce per value), with its namespace and name as
associated data, so a sealed value copied to another row does not open. The API seals
and lists; runners (and the API, for remote agents) open the ones a step names, as it
starts. Nothing here logs a value."""

import base64
import hashlib
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from execflow_contracts import DEFAULT_NAMESPACE, SecretNotFound, SecretsUnavailable

NONCE_BYTES = 12
COLUMNS = "name, namespace, created_at, updated_at, updated_by"
NO_KEY = (
    "no secrets key is configured: set EXECFLOW_SECRETS_KEY (32 random bytes, url-safe"
    " base64: `python -c 'import secrets,base64;"
    " print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'`) on the API and"
    " the runners alike; `execflow up` makes one in its data folder"
)


class SecretsKey:
    """The key that seals and opens secrets; `id` is its fingerprint, stored with each
    value, so that a value sealed with another key says so rather than fail obscurely."""

    def __init__(self, text: str) -> None:
        try:
            raw = base64.urlsafe_b64decode(text.strip().encode())
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ValueError("EXECFLOW_SECRETS_KEY must be 32 bytes in url-safe base64")
        self._aead = AESGCM(raw)
        self.id = hashlib.sha256(b"execflow secrets key:" + raw).hexdigest()[:16]

    @staticmethod
    def generate() -> str:
        return base64.urlsafe_b64encode(os.urandom(32)).decode()

    def seal(self, namespace: str, name: str, value: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, value.encode(), _bound(namespace, name))

    def open(self, namespace: str, name: str, sealed: bytes) -> str:
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, body, _bound(namespace, name)).decode()
        except InvalidTag:
            raise SecretsUnavailable(f"secret {name!r} does not open: it was altered") from None


def load_key(text: str | None) -> SecretsKey | None:
    """The configured key (None: none configured); ValueError for a malformed one."""
    return SecretsKey(text) if text else None


def _bound(namespace: str, name: str) -> bytes:
    return f"{namespace}\x00{name}".encode()


async def put(
    conn: AsyncConnection,
    key: SecretsKey | None,
    namespace: str,
    name: str,
    value: str,
    actor: str | None,
) -> dict[str, Any]:
    """Set (or replace) the secret; its row as anyone may see it."""
    if key is None:
        raise SecretsUnavailable(NO_KEY)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "INSERT INTO secrets (namespace, name, sealed, key_id, updated_by)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (namespace, name) DO UPDATE SET"
            " sealed = EXCLUDED.sealed, key_id = EXCLUDED.key_id, updated_at = now(),"
            f" updated_by = EXCLUDED.updated_by RETURNING {COLUMNS}",
            (namespace, name, key.seal(namespace, name, value), key.id, actor),
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
    key: SecretsKey | None,
    namespace: str | None,
    wanted: Mapping[str, str],
) -> dict[str, str]:
    """`wanted` (variable → secret name) with each name's value; SecretNotFound names
    every one the namespace lacks, SecretsUnavailable says there is no key to open them."""
    if not wanted:
        return {}
    if key is None:
        raise SecretsUnavailable(f"the step names secrets, but {NO_KEY}")
    namespace = namespace or DEFAULT_NAMESPACE
    cursor = await conn.execute(
        "SELECT name, sealed, key_id FROM secrets WHERE namespace = %s AND name = ANY(%s)",
        (namespace, sorted(set(wanted.values()))),
    )
    found: dict[str, str] = {}
    for name, sealed, key_id in await cursor.fetchall():
        if key_id != key.id:
            raise SecretsUnavailable(
                f"secret {name!r} was sealed with another key ({key_id}) than this one"
                f" ({key.id}): EXECFLOW_SECRETS_KEY differs here"
            )
        found[name] = key.open(namespace, name, bytes(sealed))
    missing = sorted(set(wanted.values()) - found.keys())
    if missing:
        raise SecretNotFound(
            f"namespace {namespace!r} has no secret {', '.join(map(repr, missing))}"
            " (execflow secrets set NAME)"
        )
    return {variable: found[name] for variable, name in wanted.items()}
