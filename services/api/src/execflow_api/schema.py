"""The tables the API writes: the catalogue's (workflow definitions, schedules, queue
limits) and its own, from versioned migrations (its dialects' tables)."""

from execflow_catalogue import MIGRATIONS as CATALOGUE
from execflow_platform.migrations import migrate as apply
from execflow_platform.migrations import migrations_of

MIGRATIONS = migrations_of("execflow_api")


def migrate(database_url: str, schema: str) -> list[str]:
    """Create or update the API's tables in `schema`; the migrations applied."""
    return apply(database_url, schema, CATALOGUE, MIGRATIONS)
