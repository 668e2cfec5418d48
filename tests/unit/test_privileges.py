"""The permission lists and credentials `execflow up` makes, read without servers (the
e2e test tries them on a nats-server and PostgreSQL)."""

import stat
from pathlib import Path

from execflow_contracts import Topology
from execflow_devstack.nats_server import size_in_bytes
from execflow_ops.privileges import nats_url_as, passwords_in
from execflow_platform import inbox_prefix, nats_permissions

T = Topology("p")


def publishes(user: str) -> list[str]:
    return nats_permissions(T)[user].publish


def test_only_the_scheduler_may_publish_events_and_work() -> None:
    for user in ("projector", "api", "runner", "worker"):
        assert not {T.all_events, T.all_work, ">", "p.>"} & set(publishes(user)), user
        assert not any(p.startswith(("p.evt", "p.work")) for p in publishes(user)), user
    assert {T.all_events, T.all_work} <= set(publishes("scheduler"))


def test_a_runner_sends_step_reports_only_and_none_but_the_scheduler_purges() -> None:
    commands = [p for p in publishes("runner") if p.startswith("p.cmd.")]
    assert commands and all(p.split(".")[-1].startswith("ReportStep") for p in commands)
    for user in ("projector", "api", "runner", "worker"):
        assert not any(".PURGE." in p or ".STREAM.DELETE." in p for p in publishes(user))


def test_each_user_reads_replies_in_its_own_inboxes_only() -> None:
    for user, allowed in nats_permissions(T).items():
        assert allowed.subscribe == [f"_INBOX.{user}.>"]
    assert inbox_prefix("nats://runner:secret@127.0.0.1:4222") == "_INBOX.runner"
    assert inbox_prefix("nats://127.0.0.1:4222") == "_INBOX"


def test_a_url_takes_a_users_credentials_in_place_of_anothers() -> None:
    url = nats_url_as("nats://admin:x@127.0.0.1:4222", "api", "p/w@d")
    assert url == "nats://api:p%2Fw%40d@127.0.0.1:4222"


def test_passwords_are_made_once_and_kept_for_their_owner_only(tmp_path: Path) -> None:
    first = passwords_in(tmp_path).of("nats", "runner")
    assert passwords_in(tmp_path).of("nats", "runner") == first
    assert passwords_in(tmp_path).of("nats", "api") != first
    mode = stat.S_IMODE((tmp_path / "passwords.json").stat().st_mode)
    assert mode == 0o600


def test_sizes_for_the_json_config() -> None:
    assert size_in_bytes("10TB") == 10 * 1024**4
    assert size_in_bytes("512M") == 512 * 1024**2
    assert size_in_bytes("4096") == 4096
