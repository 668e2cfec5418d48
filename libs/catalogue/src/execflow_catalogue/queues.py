"""Per-queue limits: how many steps of a queue run at once, set through the API; by
queue key (see `execflow_contracts.queues`), as the scheduler's `work_slots` name queues."""

from psycopg import AsyncConnection


async def set_limit(conn: AsyncConnection, queue: str, max_running: int | None) -> None:
    await conn.execute(
        "INSERT INTO queue_limits (queue, max_running) VALUES (%s, %s)"
        " ON CONFLICT (queue) DO UPDATE SET max_running = EXCLUDED.max_running",
        (queue, max_running),
    )


async def limits(conn: AsyncConnection) -> dict[str, int]:
    cursor = await conn.execute(
        "SELECT queue, max_running FROM queue_limits WHERE max_running IS NOT NULL"
    )
    return {queue: limit for queue, limit in await cursor.fetchall()}
