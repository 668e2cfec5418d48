"""The keys of secrets: the current one (`EXECFLOW_SECRETS_KEY`) seals, retired ones
(`EXECFLOW_SECRETS_OLD_KEYS`) still open what they sealed, until a rotation re-seals it
under the current one. Each sealed value is stored with its key's fingerprint, which
picks the key that opens it. The api and the runners build their keyring here, from
the same settings."""

import base64
import hashlib
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from execflow_contracts import SecretsUnavailable, new_secrets_key

NONCE_BYTES = 12
CURRENT = "EXECFLOW_SECRETS_KEY"
RETIRED = "EXECFLOW_SECRETS_OLD_KEYS"
NO_KEY = (
    f"no secrets key is configured: set {CURRENT} (32 random bytes, url-safe"
    " base64: `execflow secrets new-key` prints one) on the API and the runners alike;"
    " `execflow up` makes one in its data folder"
)


class SecretsKey:
    """A key that seals and opens secrets; `id` is its fingerprint, stored with each
    value, so that a value sealed with another key says so rather than fail obscurely."""

    def __init__(self, text: str, variable: str = CURRENT) -> None:
        try:
            raw = base64.urlsafe_b64decode(text.strip().encode())
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ValueError(f"{variable} must be 32 bytes in url-safe base64")
        self._aead = AESGCM(raw)
        self.id = hashlib.sha256(b"execflow secrets key:" + raw).hexdigest()[:16]

    @staticmethod
    def generate() -> str:
        return new_secrets_key()

    def seal(self, namespace: str, name: str, value: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, value.encode(), _bound(namespace, name))

    def open(self, namespace: str, name: str, sealed: bytes) -> str:
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, body, _bound(namespace, name)).decode()
        except InvalidTag:
            raise SecretsUnavailable(f"secret {name!r} does not open: it was altered") from None


class SecretsKeyring:
    """The current key, which seals, and the retired ones, which only open."""

    def __init__(self, current: SecretsKey, retired: Iterable[SecretsKey] = ()) -> None:
        self.current = current
        self._retired = {key.id: key for key in retired if key.id != current.id}

    @property
    def retired_ids(self) -> tuple[str, ...]:
        return tuple(self._retired)

    def seal(self, namespace: str, name: str, value: str) -> tuple[bytes, str]:
        """The value sealed with the current key, and that key's fingerprint."""
        return self.current.seal(namespace, name, value), self.current.id

    def open(self, namespace: str, name: str, sealed: bytes, key_id: str) -> str:
        """The value, opened with the key whose fingerprint it was stored with."""
        key = self.current if key_id == self.current.id else self._retired.get(key_id)
        if key is None:
            raise SecretsUnavailable(f"secret {name!r} {self.lacks(key_id)}")
        return key.open(namespace, name, sealed)

    def lacks(self, key_id: str) -> str:
        """Why a value sealed with `key_id` does not open here: which keys there are."""
        retired = ", ".join(self._retired) or "none"
        return (
            f"was sealed with key {key_id}, which is not configured here ({CURRENT} is key"
            f" {self.current.id}; {RETIRED}: {retired}): give that key, in {RETIRED} if a"
            " newer one is current"
        )


class SecretsSettings(BaseSettings):
    """The secrets keys, as the api and the runners read them (a mixin of their settings)."""

    model_config = SettingsConfigDict(env_prefix="EXECFLOW_", extra="ignore")

    # Seals secrets (the api) and opens them (the runners, and the api for remote
    # agents): 32 bytes, url-safe base64, the same on every api and runner. Unset,
    # secrets cannot be set and a step that names one fails to start, saying so.
    secrets_key: SecretStr | None = None
    # Retired keys (comma-separated, encoded as the key) that still open the values
    # they sealed, until `execflow secrets rotate` re-seals those under the current key.
    secrets_old_keys: SecretStr | None = None

    def secrets_keyring(self) -> SecretsKeyring | None:
        """The keyring (None: no key configured); ValueError for a malformed key."""
        current = self.secrets_key.get_secret_value() if self.secrets_key else ""
        retired = self.secrets_old_keys.get_secret_value() if self.secrets_old_keys else ""
        return load_keyring(current, retired)


def load_keyring(current: str | None, retired: str | None = None) -> SecretsKeyring | None:
    """The keyring of `current` and the comma-separated `retired` keys (None: no current
    key); ValueError for a malformed key, or retired keys without a current one."""
    texts = [text.strip() for text in (retired or "").split(",") if text.strip()]
    if not current:
        if texts:
            raise ValueError(f"{RETIRED} is set but {CURRENT} is not: which key seals?")
        return None
    old = [SecretsKey(text, f"each key of {RETIRED}") for text in texts]
    return SecretsKeyring(SecretsKey(current), old)


def load_key(text: str | None) -> SecretsKey | None:
    """The configured key (None: none configured); ValueError for a malformed one."""
    return SecretsKey(text) if text else None


def _bound(namespace: str, name: str) -> bytes:
    return f"{namespace}\x00{name}".encode()
