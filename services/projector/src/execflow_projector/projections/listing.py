"""The columns executions are listed and filtered by: what the events say so far.

`queue` and `worker` are those of the latest dispatched and started step. The
workflow's id and name, parent and schedule come with later versions of the
events; until then they stay empty.
"""

from psycopg import AsyncConnection

from execflow_contracts import AnyEvent, ExecutionCreated, StepDispatched, StepStarted


async def apply(conn: AsyncConnection, event: AnyEvent) -> None:
    """Called once per newly applied event (after the executions projection's claim)."""
    if isinstance(event, ExecutionCreated):
        await conn.execute(
            "UPDATE executions SET name = %s WHERE id = %s",
            (
                getattr(event.workflow, "name", None) or event.workflow_id,
                event.execution_id,
            ),
        )
    elif isinstance(event, StepDispatched):
        await conn.execute(
            "UPDATE executions SET queue = %s WHERE id = %s", (event.queue, event.execution_id)
        )
    elif isinstance(event, StepStarted):
        await conn.execute(
            "UPDATE executions SET worker = %s WHERE id = %s", (event.worker, event.execution_id)
        )
