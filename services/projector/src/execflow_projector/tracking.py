"""Where each projection has got to in its stream, saved with its data."""

from datetime import datetime

from psycopg import AsyncConnection


async def position(conn: AsyncConnection, name: str) -> int:
    cursor = await conn.execute(
        "SELECT position FROM projection_positions WHERE name = %s FOR UPDATE", (name,)
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def advance(conn: AsyncConnection, name: str, to: int) -> None:
    await conn.execute(
        "INSERT INTO projection_positions (name, position) VALUES (%s, %s) "
        "ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position",
        (name, to),
    )


async def recorded(conn: AsyncConnection, name: str) -> bool:
    cursor = await conn.execute("SELECT 1 FROM projection_positions WHERE name = %s", (name,))
    return await cursor.fetchone() is not None


async def forget(conn: AsyncConnection, name: str) -> None:
    await conn.execute("DELETE FROM projection_positions WHERE name = %s", (name,))


async def follow_stream(conn: AsyncConnection, name: str, created: datetime | None) -> bool:
    """Keep the position if it counts in this making of the stream (`created`); else
    start over from 0 (True): the stream was made anew, and numbers from 1 again."""
    if created is None:
        return False
    await conn.execute(
        "INSERT INTO projection_positions (name, position, stream_created) VALUES (%s, 0, %s)"
        " ON CONFLICT (name) DO NOTHING",
        (name, created),
    )
    cursor = await conn.execute(
        "SELECT stream_created FROM projection_positions WHERE name = %s FOR UPDATE", (name,)
    )
    row = await cursor.fetchone()
    if row is None or row[0] == created:
        return False
    restart = row[0] is not None  # none recorded yet: the position counts in this one
    await conn.execute(
        "UPDATE projection_positions SET stream_created = %s,"
        " position = CASE WHEN %s THEN 0 ELSE position END WHERE name = %s",
        (created, restart, name),
    )
    return restart
