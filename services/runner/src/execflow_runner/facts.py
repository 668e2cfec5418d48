"""Step facts (actions, screenshots, checkpoints, artifacts): parsed from protocol lines,
and coalesced so that a chatty agent sends one report per interval, not one per fact."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from execflow_contracts import StepFact
from execflow_platform import ARTIFACT_NAME

FACT_KINDS = ("action", "screenshot", "checkpoint", "artifact")


class MalformedFact(ValueError):
    pass


def parse_fact(raw: dict[str, Any]) -> StepFact:
    kind = raw["type"]
    now = datetime.now(UTC)
    if kind == "action":
        name = _text(raw, "name")
        data = {k: v for k, v in raw.items() if k not in ("type", "name")}
        return StepFact(kind="action", at=now, name=name, data=data)
    if kind == "checkpoint":
        return StepFact(kind="checkpoint", at=now, name=_text(raw, "name"))
    path = _text(raw, "path")
    if kind == "screenshot":
        name = str(raw.get("name") or PurePosixPath(path).name)
        return StepFact(
            kind="screenshot", at=now, name=_name(name), path=path, artifact_kind="screenshot"
        )
    artifact_kind = str(raw.get("kind") or "file")
    return StepFact(
        kind="artifact",
        at=now,
        name=_name(_text(raw, "name")),
        path=path,
        artifact_kind=artifact_kind,
    )


def _text(raw: dict[str, Any], field: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value:
        raise MalformedFact(f"'{field}' must be a non-empty string")
    return value


def _name(name: str) -> str:
    if not ARTIFACT_NAME.match(name):
        raise MalformedFact(f"artifact name {name!r}: letters, digits, '.', '_', '-' only")
    return name


class FactBatcher:
    """Holds facts for at most `interval_s`, then sends them together."""

    def __init__(self, send: Callable[[list[StepFact]], None], interval_s: float = 0.25) -> None:
        self._send = send
        self._interval_s = interval_s
        self._pending: list[StepFact] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, fact: StepFact) -> None:
        self._pending.append(fact)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval_s, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            self._send(self._pending)
            self._pending = []
