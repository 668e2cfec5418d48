"""What the test platform's readiness reports beside NATS: its datastore, the cache
(optional: none is fine), the platform settings, the profiles and launchable suites."""

import asyncio
from typing import Any

from ...state import Services
from .launch import Platform

READ_TIMEOUT_S = 2.0
# Reported, but not a condition of readiness.
OPTIONAL = frozenset({"cache"})
READ = ("datastore", "platform-settings", "profiles", "launchable-suites")


async def checks(svc: Services) -> tuple[dict[str, str], dict[str, Any]]:
    """Each check's state, and what it found (counts, the backends in force)."""
    found: dict[str, Any] = {}
    try:
        async with asyncio.timeout(READ_TIMEOUT_S), svc.pool.connection() as conn:
            platform = await Platform.load(conn)
    except Exception as exc:  # reported as it is: readiness answers, it does not fail
        down = f"unavailable: {exc!r}"
        state = dict.fromkeys(READ, down)
    else:
        state = dict.fromkeys(READ, "ok")
        found = {
            "backends": [b.name for b in platform.settings.backends],
            "profiles": len(platform.profiles),
            "launchable-suites": len(platform.launch_suites()),
        }
    state["cache"] = "absent"  # execflow keeps no cache beside its datastore
    return state, found
