"""Step facts on the execution: agent actions and screenshots counted, checkpoints and
artifacts listed (an artifact reported again, e.g. stored after declared, replaces its
entry of the same name)."""

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from execflow_contracts import StepFactsRecorded

DDL = """
ALTER TABLE executions ADD COLUMN IF NOT EXISTS n_agent_actions integer NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS n_screenshots integer NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN IF NOT EXISTS checkpoints jsonb NOT NULL DEFAULT '[]';
ALTER TABLE executions ADD COLUMN IF NOT EXISTS artifacts jsonb NOT NULL DEFAULT '[]';
"""


async def facts_recorded(conn: AsyncConnection, event: StepFactsRecorded) -> None:
    kinds = [fact.get("kind") for fact in event.facts]
    checkpoints = [
        {"step_id": event.step_id, "name": fact.get("name", ""), "at": fact.get("at")}
        for fact in event.facts
        if fact.get("kind") == "checkpoint"
    ]
    artifacts = [
        artifact(event.step_id, fact) for fact in event.facts if fact["kind"] == "artifact"
    ]
    cursor = await conn.execute(
        "SELECT artifacts FROM executions WHERE id = %s", (event.execution_id,)
    )
    row = await cursor.fetchone()
    names = {a["name"] for a in artifacts}
    kept = [a for a in (row[0] if row else []) if a["name"] not in names]
    await conn.execute(
        "UPDATE executions SET n_agent_actions = n_agent_actions + %s,"
        " n_screenshots = n_screenshots + %s, checkpoints = checkpoints || %s,"
        " artifacts = %s WHERE id = %s",
        (
            kinds.count("action"),
            kinds.count("screenshot"),
            Jsonb(checkpoints),
            Jsonb(kept + artifacts),
            event.execution_id,
        ),
    )


def artifact(step_id: str, fact: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": fact.get("name", ""),
        "kind": fact.get("artifact_kind") or "file",
        "step_id": step_id,
        "path": fact.get("path"),
        "status": fact.get("status"),
        "key": fact.get("key"),
        "size": fact.get("size"),
        "error": fact.get("error"),
        "at": fact.get("at"),
    }
