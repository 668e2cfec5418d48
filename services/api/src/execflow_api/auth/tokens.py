"""API keys as their holders see them (`efk_<id>_<secret>`) and as they are stored: the
secret's argon2 hash (argon2-cffi's defaults: argon2id, 64 MiB, 3 passes), found by id."""

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PREFIX = "efk"
_HASHER = PasswordHasher()


@dataclass(frozen=True)
class Token:
    key_id: str
    secret: str

    def __str__(self) -> str:
        return f"{PREFIX}_{self.key_id}_{self.secret}"


def new_token() -> Token:
    return Token(secrets.token_hex(6), secrets.token_urlsafe(32))


def parse_token(text: str) -> Token | None:
    """The key's id and secret; None for anything that is not one of our keys."""
    prefix, _, rest = text.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or len(key_id) != 12 or not secret or len(text) > 200:
        return None
    return Token(key_id, secret)


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    """Slow by design (some 50 ms): callers cache what it confirmed."""
    try:
        return _HASHER.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False
