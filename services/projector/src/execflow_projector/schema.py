"""The read models' tables, from the projector's versioned migrations."""

from execflow_platform.migrations import migrate as apply
from execflow_platform.migrations import migrations_of

MIGRATIONS = migrations_of("execflow_projector")


def migrate(database_url: str, schema: str) -> list[str]:
    """Create or update the read models in `schema`; the migrations applied."""
    return apply(database_url, schema, MIGRATIONS)
