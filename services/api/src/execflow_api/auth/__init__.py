"""Who may do what: API keys (argon2-hashed), namespaces and roles; the guard."""

from .caller import ANYONE, Caller
from .guard import Authenticator, Guarded, guard, optional_caller
from .store import AccessRefused, create_key, create_namespace

__all__ = [
    "ANYONE",
    "AccessRefused",
    "Authenticator",
    "Caller",
    "Guarded",
    "create_key",
    "create_namespace",
    "guard",
    "optional_caller",
]
