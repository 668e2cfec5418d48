"""What `execflow privileges env` writes for servers of an operator's own, read without
servers (tests/e2e/test_deployment.py runs a deployment from them)."""

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from execflow_ops.cli_privileges import app
from execflow_ops.deployment import AUTHORIZATION_FILE, ENV_FILES, read_env_file
from execflow_ops.privileges import Passwords

NATS, DATABASE = "nats://nats:4222", "postgresql://owner:owner-pw@postgres:5432/execflow"


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EXECFLOW_NATS_URL", NATS)
    monkeypatch.setenv("EXECFLOW_DATABASE_URL", DATABASE)
    monkeypatch.setenv("EXECFLOW_BUS_PREFIX", "prod")
    monkeypatch.delenv("EXECFLOW_SECRETS_KEY", raising=False)
    folder = tmp_path / "secrets"
    result = CliRunner().invoke(app, ["env", "--out", str(folder), "--no-grant"])
    assert result.exit_code == 0, result.output
    return folder


def secrets_in(folder: Path) -> dict[str, str]:
    return Passwords(folder / "passwords.json").known()


def test_every_file_is_its_owners_only(out: Path) -> None:
    names = {f"{name}.env" for name in ENV_FILES} | {AUTHORIZATION_FILE}
    assert names | {"passwords.json", "secrets.key"} == {p.name for p in out.iterdir()}
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_each_part_holds_its_own_credentials_and_no_others(out: Path) -> None:
    own = {
        "scheduler": {"nats:scheduler", "postgres:execflow_scheduler"},
        "projector": {"nats:projector", "postgres:execflow_projector"},
        "api": {"nats:api", "postgres:execflow_api"},
        "runner": {"nats:runner", "postgres:execflow_runner"},
        "worker": {"nats:worker"},
        "admin": {"nats:admin"},
    }
    for part, mine in own.items():
        text = (out / f"{part}.env").read_text()
        for name, secret in secrets_in(out).items():
            assert (secret in text) == (name in mine), (part, name)
        # The owner's password is the operator's and the setup's alone.
        assert ("owner-pw" in text) == (part == "admin"), part


def test_the_files_say_where_and_as_whom(out: Path) -> None:
    runner = read_env_file(out / "runner.env")
    password = secrets_in(out)["nats:runner"]
    assert runner["EXECFLOW_NATS_URL"] == f"nats://runner:{password}@nats:4222"
    assert "user=execflow_runner" in runner["EXECFLOW_DATABASE_URL"]
    assert "host=postgres" in runner["EXECFLOW_DATABASE_URL"]
    assert (runner["EXECFLOW_BUS_PREFIX"], runner["EXECFLOW_DB_SCHEMA"]) == ("prod", "execflow")
    assert "EXECFLOW_DATABASE_URL" not in read_env_file(out / "worker.env")
    admin = read_env_file(out / "admin.env")
    assert admin["EXECFLOW_DATABASE_URL"] == DATABASE
    assert admin["EXECFLOW_NATS_URL"].startswith("nats://admin:")


def test_the_api_and_the_runners_share_the_secrets_key_and_only_they_hold_it(out: Path) -> None:
    key = (out / "secrets.key").read_text().strip()
    holders = {part for part in ENV_FILES if key in (out / f"{part}.env").read_text()}
    assert holders == {"api", "runner"}


def test_the_authorization_include_has_the_admin_and_every_part(out: Path) -> None:
    text = (out / AUTHORIZATION_FILE).read_text()
    assert text.startswith("authorization: {")
    for user in ("admin", "scheduler", "projector", "api", "runner", "worker"):
        assert f'"user": "{user}"' in text
    assert '"prod.evt.>"' in text  # the deployment's own prefix


def test_a_second_run_keeps_the_passwords(out: Path) -> None:
    before = {p.name: p.read_text() for p in out.iterdir()}
    result = CliRunner().invoke(app, ["env", "--out", str(out), "--no-grant"])
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_text() for p in out.iterdir()} == before


def test_it_asks_where_the_servers_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXECFLOW_NATS_URL", raising=False)
    monkeypatch.setenv("EXECFLOW_DATABASE_URL", DATABASE)
    result = CliRunner().invoke(app, ["env", "--out", str(tmp_path), "--no-grant"])
    assert result.exit_code == 2
    assert "EXECFLOW_NATS_URL" in result.output
