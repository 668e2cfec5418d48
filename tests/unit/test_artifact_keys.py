"""An artifact key names a place under its execution's prefix in the store, and nothing
else: refused in a report, by the store, and by the API's download."""

from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import ValidationError

from execflow_api.artifacts import find
from execflow_artifacts import ArtifactKeyRefused, ArtifactStore
from execflow_contracts import ArtifactNotFound, ReportStepFacts, StepFact, artifact_key

EXECUTION = uuid4()
OWN = artifact_key(EXECUTION, "s", 1, "report.txt")
FORGED = [
    "../../../../etc/passwd",
    f"{EXECUTION}/s/1/../../../../etc/passwd",
    f"{EXECUTION}/../other/1/x",
    f"/{EXECUTION}/s/1/x",
    f"{EXECUTION}/s/1/",
    f"{EXECUTION}/s/1/.hidden/../x",
]


def report(key: str) -> ReportStepFacts:
    fact = StepFact(kind="artifact", at=datetime.now(UTC), name="x", status="stored", key=key)
    return ReportStepFacts(
        execution_id=EXECUTION, step_id="s", attempt=1, worker="w", sequence=1, facts=[fact]
    )


@pytest.mark.parametrize("key", [*FORGED, artifact_key(uuid4(), "s", 1, "x")])
def test_a_report_naming_a_key_outside_its_own_attempt_is_refused(key: str) -> None:
    with pytest.raises(ValidationError, match="is not under"):
        report(key)


def test_a_report_naming_its_own_key_is_accepted() -> None:
    assert report(OWN).facts[0].key == OWN


@pytest.mark.parametrize("key", FORGED)
def test_the_store_refuses_a_key_that_is_not_made_as_keys_are(key: str, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("secret")
    store = ArtifactStore(str(tmp_path / "store"))
    with pytest.raises(ArtifactKeyRefused):
        store.open(key)
    with pytest.raises(ArtifactKeyRefused):
        store.put(tmp_path / "secret", key)


def test_the_download_serves_only_keys_of_its_own_execution() -> None:
    other = artifact_key(uuid4(), "s", 1, "x")
    rows = [{"name": "x", "status": "stored", "key": other}]
    with pytest.raises(ArtifactNotFound, match="has no content in this execution"):
        find(EXECUTION, rows, "x")
    assert find(EXECUTION, [{"name": "x", "status": "stored", "key": OWN}], "x")["key"] == OWN
