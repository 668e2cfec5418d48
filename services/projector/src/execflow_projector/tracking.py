"""Where each projection has got to in its stream, saved with its data."""

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
