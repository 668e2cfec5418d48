"""How read-model rows look to API clients."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from . import artifacts

API = "/api/v1"


def links(execution_id: UUID) -> dict[str, str]:
    base = f"{API}/executions/{execution_id}"
    return {
        "self": base,
        "transitions": f"{base}/transitions",
        "logs": f"{base}/logs",
        "history": f"{base}/history",
        "events": f"{base}/events",
        "artifacts": f"{base}/artifacts",
    }


def duration_ms(start: datetime | None, end: datetime | None) -> int | None:
    """Time from start to end, or to now while it runs."""
    if start is None:
        return None
    return int(((end or datetime.now(UTC)) - start).total_seconds() * 1000)


def execution(row: dict[str, Any]) -> dict[str, Any]:
    body = dict(row)
    body["duration_ms"] = duration_ms(row["started_at"], row["completed_at"])
    body["links"] = links(row["id"])
    if "artifacts" in row:
        base = body["links"]["self"]
        body["artifacts"] = [artifacts.present(base, a) for a in row["artifacts"]]
        body.update(artifacts.urls(base, row["artifacts"]))
    for step in body.get("steps", []):
        step["duration_ms"] = duration_ms(step["started_at"], step["finished_at"])
    return body


def summary(row: dict[str, Any]) -> dict[str, Any]:
    body = execution(row)
    body.pop("workflow", None)
    return body
