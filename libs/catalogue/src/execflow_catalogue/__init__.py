"""The catalogue: registered workflow definitions, schedules and queue limits, in
PostgreSQL beside the event store. The API writes it; the scheduler reads it to fire
schedules and to hold back work. Its tables come from its migrations (`migrate`)."""

from execflow_platform.migrations import migrations_of

from . import catalog, holds, queues, schedules
from .catalog import Registered


def migrate(database_url: str, schema: str) -> list[str]:
    """Create or update the catalogue's tables in `schema`; the migrations applied."""
    from execflow_platform.migrations import migrate as apply

    return apply(database_url, schema, MIGRATIONS)


MIGRATIONS = migrations_of(__name__)

__all__ = ["MIGRATIONS", "Registered", "catalog", "holds", "migrate", "queues", "schedules"]
