"""The secrets keyring without servers: the current key seals, retired keys still open
what they sealed, a value whose key is neither says which key it needs, and the api and
runners build it from the same two settings."""

import pytest
from typer.testing import CliRunner

from execflow.cli import app
from execflow_api.settings import ApiSettings
from execflow_catalogue.keys import SecretsKey, SecretsKeyring, load_keyring
from execflow_contracts import SecretsUnavailable
from execflow_runner.settings import RunnerSettings

OLD, NEW, OTHER = (SecretsKey.generate() for _ in range(3))


def test_the_current_key_seals_and_a_retired_one_opens_what_it_sealed() -> None:
    old = SecretsKeyring(SecretsKey(OLD))
    sealed_before, old_id = old.seal("team-a", "token", "v1")
    assert old_id == SecretsKey(OLD).id

    keyring = load_keyring(NEW, OLD)
    assert keyring is not None
    assert keyring.current.id == SecretsKey(NEW).id
    assert keyring.retired_ids == (old_id,)
    assert keyring.open("team-a", "token", sealed_before, old_id) == "v1"
    sealed_now, new_id = keyring.seal("team-a", "token", "v2")
    assert new_id == keyring.current.id != old_id
    assert keyring.open("team-a", "token", sealed_now, new_id) == "v2"
    # The fingerprint picks the key: the old value does not open as if the new key sealed it.
    with pytest.raises(SecretsUnavailable, match="altered"):
        keyring.open("team-a", "token", sealed_before, new_id)


def test_a_value_whose_key_is_not_in_the_keyring_names_that_key() -> None:
    sealed, other_id = SecretsKeyring(SecretsKey(OTHER)).seal("default", "token", "v")
    keyring = load_keyring(NEW, OLD)
    assert keyring is not None
    with pytest.raises(SecretsUnavailable) as refused:
        keyring.open("default", "token", sealed, other_id)
    reason = str(refused.value)
    assert reason.startswith(f"secret 'token' was sealed with key {other_id}, which is not")
    assert f"EXECFLOW_SECRETS_KEY is key {keyring.current.id}" in reason
    assert f"EXECFLOW_SECRETS_OLD_KEYS: {SecretsKey(OLD).id}" in reason


def test_retired_keys_are_comma_separated_and_the_current_one_is_not_retired() -> None:
    keyring = load_keyring(NEW, f" {OLD} ,, {OTHER},{NEW},{OLD}")
    assert keyring is not None
    assert keyring.retired_ids == (SecretsKey(OLD).id, SecretsKey(OTHER).id)
    bare = load_keyring(NEW, "")
    assert bare is not None and bare.retired_ids == ()
    assert load_keyring(None) is None and load_keyring("", " , ") is None


@pytest.mark.parametrize(
    ("current", "retired", "message"),
    [
        ("short", None, "EXECFLOW_SECRETS_KEY must be 32 bytes"),
        (NEW, f"{OLD},short", "each key of EXECFLOW_SECRETS_OLD_KEYS must be 32 bytes"),
        (None, OLD, "EXECFLOW_SECRETS_OLD_KEYS is set but EXECFLOW_SECRETS_KEY is not"),
    ],
)
def test_a_malformed_keyring_is_refused_at_start(
    current: str | None, retired: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_keyring(current, retired)


@pytest.mark.parametrize("settings", [ApiSettings, RunnerSettings])
def test_the_api_and_the_runner_read_the_same_two_variables(
    settings: type[ApiSettings] | type[RunnerSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXECFLOW_SECRETS_KEY", NEW)
    monkeypatch.setenv("EXECFLOW_SECRETS_OLD_KEYS", f"{OLD},{OTHER}")
    keyring = settings().secrets_keyring()
    assert keyring is not None
    assert keyring.current.id == SecretsKey(NEW).id
    assert keyring.retired_ids == (SecretsKey(OLD).id, SecretsKey(OTHER).id)
    monkeypatch.delenv("EXECFLOW_SECRETS_KEY")
    monkeypatch.delenv("EXECFLOW_SECRETS_OLD_KEYS")
    assert settings().secrets_keyring() is None


def test_the_cli_prints_a_fresh_key_each_time() -> None:
    made = [CliRunner().invoke(app, ["secrets", "new-key"]) for _ in range(2)]
    assert [result.exit_code for result in made] == [0, 0]
    keys = [result.output.strip() for result in made]
    assert keys[0] != keys[1]
    assert all(SecretsKey(key).id for key in keys)  # each a well-formed key
