"""The last applier of a batch: live streams hear which executions it changed."""

from collections.abc import Sequence

from psycopg import AsyncConnection

from execflow_contracts import AnyEvent, LogChunk
from execflow_platform import notify_changed

from ..consumer import BatchApplier


def announcer(channel: str) -> BatchApplier:
    async def apply_batch(conn: AsyncConnection, items: Sequence[AnyEvent | LogChunk]) -> None:
        # In the batch's transaction: delivered when it commits, never if it does not.
        await notify_changed(conn, channel, (item.execution_id for item in items))

    return apply_batch
