"""API keys made straight in the database, by whoever runs the deployment: the first
admin key of `execflow up`, and the tests' and benchmarks' stacks' keys."""

import asyncio

import psycopg

from execflow_api.auth import create_key
from execflow_api.auth.store import find_key
from execflow_api.auth.tokens import parse_token, verify_secret
from execflow_contracts import DEFAULT_NAMESPACE, Role
from execflow_platform import schema_conninfo


def make_key(
    database_url: str,
    schema: str,
    role: Role = Role.ADMIN,
    namespace: str = DEFAULT_NAMESPACE,
    name: str = "",
    queues: list[str] | None = None,
) -> str:
    """A new key (the whole of it: its secret is stored only as a hash)."""

    async def make() -> str:
        conninfo = schema_conninfo(database_url, schema)
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            token, _ = await create_key(conn, namespace, role, name, queues, "execflow")
        return str(token)

    return asyncio.run(make())


def works(database_url: str, schema: str, key: str) -> bool:
    """Whether `key` is a live admin key of this deployment."""
    token = parse_token(key)
    if token is None:
        return False

    async def check() -> bool:
        conninfo = schema_conninfo(database_url, schema)
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            stored = await find_key(conn, token.key_id)
        return (
            stored is not None
            and stored.role is Role.ADMIN
            and verify_secret(stored.hash, token.secret)
        )

    return asyncio.run(check())
