"""Read models on a real PostgreSQL, filled row by row for query tests."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest_asyncio
from psycopg.types.json import Jsonb

from execflow_platform import schema_conninfo

from ..conftest import Names

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="function")
async def conn(database_url: str, provisioned: Names) -> AsyncIterator[psycopg.AsyncConnection]:
    conninfo = schema_conninfo(database_url, provisioned.schema)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        yield conn


async def insert(conn: psycopg.AsyncConnection, **row: Any) -> UUID:
    row = {
        "id": uuid4(),
        "version": 1,
        "status": "completed",
        "workflow": Jsonb({"steps": []}),
        "metadata": Jsonb(row.pop("metadata", {})),
        "n_steps": 1,
        "updated_at": T0,
        **row,
    }
    columns = ", ".join(row)
    await conn.execute(
        f"INSERT INTO executions ({columns}) VALUES ({', '.join(['%s'] * len(row))})",
        list(row.values()),
    )
    return UUID(str(row["id"]))
