"""Step facts on the execution: agent actions and screenshots counted, checkpoints and
artifacts listed (an artifact reported again, e.g. stored after declared, replaces its
entry of the same name)."""

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from execflow_contracts import StepFactsRecorded


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
    # The artifacts are merged in SQL rather than read and rewritten, so that the batch's
    # pipeline need not wait for a result here.
    await conn.execute(
        "UPDATE executions SET n_agent_actions = n_agent_actions + %(actions)s,"
        " n_screenshots = n_screenshots + %(screenshots)s,"
        " checkpoints = checkpoints || %(checkpoints)s, artifacts = coalesce("
        "(SELECT jsonb_agg(a ORDER BY i) FROM jsonb_array_elements(artifacts)"
        " WITH ORDINALITY AS kept(a, i)"
        " WHERE NOT coalesce(a->>'name' = ANY(%(names)s::text[]), false)), '[]')"
        " || %(artifacts)s WHERE id = %(id)s",
        {
            "actions": kinds.count("action"),
            "screenshots": kinds.count("screenshot"),
            "checkpoints": Jsonb(checkpoints),
            "names": [a["name"] for a in artifacts],
            "artifacts": Jsonb(artifacts),
            "id": event.execution_id,
        },
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
