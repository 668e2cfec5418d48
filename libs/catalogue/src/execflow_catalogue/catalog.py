"""Registered workflow definitions: an append-only table of versions.

A definition is configuration, not lifecycle state: executions copy the spec they
run into their own `ExecutionCreated`, so replaying an execution never depends on
the catalogue, and the catalogue can be read (and listed) with plain SQL.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from execflow_contracts import STORED, CreateExecution, WorkflowDefinition, WorkflowNotFound
from execflow_platform import locks
from execflow_workflows import check_input


@dataclass(frozen=True)
class Registered:
    definition: WorkflowDefinition
    version: int
    created_at: datetime
    namespace: str

    def execution(
        self,
        execution_id: UUID,
        input: Any,
        metadata: dict[str, Any],
        priority: int | None,
        actor: str,
    ) -> CreateExecution:
        """The command that runs this version; raises InvalidInput if `input` does not fit."""
        check_input(self.definition.inputs, input)
        return CreateExecution(
            execution_id=execution_id,
            workflow=self.definition.spec(),
            input=input,
            metadata=metadata,
            priority=priority,
            workflow_id=self.definition.id,
            workflow_version=self.version,
            actor=actor,
            namespace=self.namespace,
        )

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.definition.id,
            "version": self.version,
            "description": self.definition.description,
            "created_at": self.created_at,
        }

    def body(self) -> dict[str, Any]:
        return self.definition.model_dump(mode="json", by_alias=True, exclude_none=True) | {
            "version": self.version,
            "created_at": self.created_at,
        }


async def register(
    conn: AsyncConnection, namespace: str, definition: WorkflowDefinition
) -> tuple[Registered, bool]:
    """Store a new version in `namespace`, unless it is the latest one again; True if a
    version was added."""
    document = definition.model_dump(mode="json", by_alias=True)
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    async with conn.transaction():
        # Versions of one workflow are numbered one registration at a time.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            (locks.WORKFLOW_REGISTRATION, f"{namespace}/{definition.id}"),
        )
        latest = await _latest_row(conn, namespace, definition.id)
        if latest is not None and latest["digest"] == digest:
            return _registered(latest), False
        version = latest["version"] + 1 if latest else 1
        cursor = await conn.execute(
            "INSERT INTO workflow_definitions"
            " (namespace, workflow_id, version, definition, digest)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING created_at",
            (namespace, definition.id, version, Jsonb(document), digest),
        )
        row = await cursor.fetchone()
        assert row is not None
    return Registered(definition, version, row[0], namespace), True


async def get(
    conn: AsyncConnection, namespace: str, workflow_id: str, version: int | None = None
) -> Registered:
    """The given version, or the latest, of `namespace`'s workflow; raises WorkflowNotFound
    (also for another namespace's)."""
    if version is None:
        row = await _latest_row(conn, namespace, workflow_id)
    else:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT * FROM workflow_definitions"
                " WHERE namespace = %s AND workflow_id = %s AND version = %s",
                (namespace, workflow_id, version),
            )
            row = await cur.fetchone()
    if row is None:
        which = f" version {version}" if version is not None else ""
        raise WorkflowNotFound(f"workflow '{workflow_id}'{which} not found")
    return _registered(row)


async def latest_of_each(conn: AsyncConnection, namespace: str) -> list[Registered]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT DISTINCT ON (workflow_id) * FROM workflow_definitions WHERE namespace = %s"
            " ORDER BY workflow_id, version DESC",
            (namespace,),
        )
        return [_registered(row) for row in await cur.fetchall()]


async def _latest_row(
    conn: AsyncConnection, namespace: str, workflow_id: str
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT * FROM workflow_definitions WHERE namespace = %s AND workflow_id = %s"
            " ORDER BY version DESC LIMIT 1",
            (namespace, workflow_id),
        )
        return await cur.fetchone()


def _registered(row: dict[str, Any]) -> Registered:
    return Registered(
        WorkflowDefinition.model_validate(row["definition"], context=STORED),
        row["version"],
        row["created_at"],
        row["namespace"],
    )
