"""API keys and namespaces, as the API shows them (a key's secret only once)."""

from datetime import datetime

from .base import View


class KeyView(View):
    id: str
    namespace: str
    role: str
    name: str = ""
    queues: list[str] | None = None
    created_at: datetime
    created_by: str | None = None
    revoked_at: datetime | None = None


class KeyCreated(KeyView):
    # The whole key, to send as `Authorization: Bearer <key>`: shown here only.
    key: str


class KeyList(View):
    items: list[KeyView]


class NamespaceView(View):
    name: str
    retention_s: float | None = None
    created_at: datetime


class NamespaceList(View):
    items: list[NamespaceView]


class HoldView(View):
    """A legal hold: the execution is kept past its time to live until released."""

    execution_id: str
    reason: str = ""
    held_by: str | None = None
    held_at: datetime


class HoldsMade(View):
    """`POST /api/v1/holds`: how many executions the filters matched, and were held."""

    matched: int
    held: int


class WhoAmI(View):
    """`GET /api/v1/whoami`: the key that asks, its namespace and role."""

    key_id: str | None
    namespace: str
    role: str
    auth: str


class SecretView(View):
    """A secret as anyone sees it: its name and dates, never its value."""

    name: str
    namespace: str
    created_at: datetime
    updated_at: datetime
    updated_by: str | None = None


class SecretList(View):
    items: list[SecretView]


class SecretsRotated(View):
    """`POST /api/v1/secrets/rotate`: every namespace's secrets now under the current key."""

    # Re-sealed under the current key by this call.
    resealed: int
    # Sealed with it already, and left as they were.
    already_current: int
    # The current key's fingerprint.
    key_id: str
