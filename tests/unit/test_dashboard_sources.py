"""What the dashboard's sources must agree on with the rest of execflow."""

import json
import re
from pathlib import Path

from execflow_contracts import EVENT_TYPES

FRONTEND = Path(__file__).resolve().parents[2] / "services" / "api" / "frontend"


def test_the_execution_page_listens_to_every_event_type_the_stream_sends() -> None:
    # EventSource has no wildcard for named events: the page lists them.
    source = (FRONTEND / "src" / "pages" / "Execution.tsx").read_text()
    listed = re.search(r"const EVENT_TYPES = \[(.*?)\];", source, re.S)
    assert listed is not None
    assert set(re.findall(r'"(\w+)"', listed.group(1))) == set(EVENT_TYPES)


def test_the_lockfile_names_no_registry_host() -> None:
    lock = json.loads((FRONTEND / "package-lock.json").read_text())
    packages = {name: p for name, p in lock["packages"].items() if name}
    assert packages, "the lockfile lists no package"
    assert not [name for name, p in packages.items() if "resolved" in p]
    assert all("integrity" in p for p in packages.values() if not p.get("link"))
