"""The test platform's tables: suites (a version per change), profiles and the platform
settings (see the API's migrations)."""

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from execflow_contracts import ProfileNotFound, SuiteNotFound
from execflow_platform import locks

from .models import PlatformSettingsIn, Profile, ProfileIn, Suite, SuiteIn
from .topology import Catalog, digest

SETTINGS_KEY = "platform"


def _suite(row: dict[str, Any]) -> Suite:
    return Suite.model_validate(
        row["body"]
        | {"version": row["version"], "digest": row["digest"], "created_at": row["created_at"]}
    )


async def save_suite(conn: AsyncConnection, suite: SuiteIn) -> tuple[Suite, bool]:
    """A new version, unless the latest one is the same; True if a version was added."""
    body = suite.model_dump(mode="json", by_alias=True)
    content = digest(suite)
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            (locks.SUITE_REGISTRATION, suite.id),
        )
        await cur.execute(
            "SELECT * FROM platform_suites WHERE id = %s ORDER BY version DESC LIMIT 1",
            (suite.id,),
        )
        latest = await cur.fetchone()
        if latest is not None and latest["digest"] == content:
            return _suite(latest), False
        await cur.execute(
            "INSERT INTO platform_suites (id, version, body, digest) VALUES (%s, %s, %s, %s)"
            " RETURNING *",
            (suite.id, latest["version"] + 1 if latest else 1, Jsonb(body), content),
        )
        row = await cur.fetchone()
        assert row is not None
    return _suite(row), True


async def catalog(conn: AsyncConnection) -> Catalog:
    """Every version of every suite: topologies import one another by id and version."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT * FROM platform_suites ORDER BY id, version")
        return Catalog.of(_suite(row) for row in await cur.fetchall())


def suite_in(found: Catalog, suite_id: str, version: int | None = None) -> Suite:
    suite = found.get(suite_id, str(version) if version else "latest")
    if suite is None:
        which = f" version {version}" if version else ""
        raise SuiteNotFound(f"suite '{suite_id}'{which} not found")
    return suite


async def save_profile(conn: AsyncConnection, profile: ProfileIn) -> tuple[Profile, bool]:
    """Create or replace; True if it is new."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "INSERT INTO platform_profiles AS p (name, body) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at = now()"
            " RETURNING body, updated_at, (xmax = 0) AS created",
            (profile.name, Jsonb(profile.model_dump(mode="json"))),
        )
        row = await cur.fetchone()
    assert row is not None
    return _profile(row), bool(row["created"])


def _profile(row: dict[str, Any]) -> Profile:
    return Profile.model_validate(row["body"] | {"updated_at": row["updated_at"]})


async def profiles(conn: AsyncConnection) -> list[Profile]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT body, updated_at FROM platform_profiles ORDER BY name")
        return [_profile(row) for row in await cur.fetchall()]


async def profile(conn: AsyncConnection, name: str) -> Profile:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT body, updated_at FROM platform_profiles WHERE name = %s", (name,))
        row = await cur.fetchone()
    if row is None:
        raise ProfileNotFound(f"profile '{name}' not found")
    return _profile(row)


async def settings(conn: AsyncConnection) -> PlatformSettingsIn | None:
    """The settings as configured; None if never set."""
    cursor = await conn.execute(
        "SELECT body FROM platform_settings WHERE key = %s", (SETTINGS_KEY,)
    )
    row = await cursor.fetchone()
    return PlatformSettingsIn.model_validate(row[0]) if row else None


async def save_settings(conn: AsyncConnection, given: PlatformSettingsIn) -> None:
    await conn.execute(
        "INSERT INTO platform_settings (key, body) VALUES (%s, %s)"
        " ON CONFLICT (key) DO UPDATE SET body = excluded.body, updated_at = now()",
        (SETTINGS_KEY, Jsonb(given.model_dump(mode="json", by_alias=True))),
    )
