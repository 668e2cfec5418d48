"""A create sent on the bus may name a registered workflow by id rather than carry its
spec: the scheduler looks it up in the catalogue (as the API does for its clients) before
the command is applied, so that the execution still records the whole spec it runs."""

from psycopg import AsyncConnection

from execflow_catalogue import catalog
from execflow_contracts import AnyCommand, CreateExecution, namespace_of


class WorkflowResolver:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn: AsyncConnection | None = None

    async def resolve(self, command: AnyCommand) -> AnyCommand:
        """The command, with its registered workflow's spec if it named one; raises the
        refusal (WorkflowNotFound, InvalidInput), or psycopg's error if the catalogue
        cannot be read now (the command comes back later)."""
        if not isinstance(command, CreateExecution) or command.workflow is not None:
            return command
        assert command.workflow_id is not None  # the command's own validator says so
        try:
            registered = await catalog.get(
                await self._connection(),
                namespace_of(command.namespace),
                command.workflow_id,
                command.workflow_version,
            )
        except Exception:
            await self.close()  # a fresh connection next time
            raise
        resolved = registered.execution(
            command.execution_id,
            command.input,
            command.metadata,
            command.priority,
            actor=command.actor,
        )
        return resolved.model_copy(
            update={"request_hash": command.request_hash, "request_id": command.request_id}
        )

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    async def _connection(self) -> AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await AsyncConnection.connect(self._conninfo, autocommit=True)
        return self._conn
