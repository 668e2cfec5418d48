"""The scheduler's tables: the event store (the eventsourcing library's own) and, from
its versioned migrations, timers, held work and the relay's position."""

from execflow_platform import ensure_schema
from execflow_platform.migrations import migrate as apply
from execflow_platform.migrations import migrations_of

from .settings import SchedulerSettings
from .wiring import build_application

MIGRATIONS = migrations_of("execflow_scheduler")


def migrate(settings: SchedulerSettings) -> list[str]:
    """Create or update the scheduler's tables; the migrations applied."""
    ensure_schema(settings.database_url, settings.db_schema)
    build_application(settings, create_tables=True).close()
    return apply(settings.database_url, settings.db_schema, MIGRATIONS)
