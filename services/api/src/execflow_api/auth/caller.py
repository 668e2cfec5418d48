"""Who sends a request: the key's id, namespace and role (or, auth off, anyone)."""

from dataclasses import dataclass

from execflow_contracts import DEFAULT_NAMESPACE, Role


@dataclass(frozen=True)
class Caller:
    namespace: str
    role: Role
    # None when auth is off.
    key_id: str | None
    # An agent token's queues.
    queues: tuple[str, ...] = ()

    @property
    def actor(self) -> str:
        """Who the events a request causes say did it (the audit trail)."""
        return f"key:{self.key_id}" if self.key_id is not None else "api"

    @property
    def deployment_admin(self) -> bool:
        """An admin of `default`, who may also make namespaces and keys for any of them
        (`execflow up`'s first key is one). Its data is still its namespace's only."""
        return self.role is Role.ADMIN and self.namespace == DEFAULT_NAMESPACE


# Every request while auth is off (EXECFLOW_AUTH=off): an admin of `default`.
ANYONE = Caller(DEFAULT_NAMESPACE, Role.ADMIN, None)
