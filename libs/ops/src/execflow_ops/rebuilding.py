"""`execflow projections rebuild` wired: the scheduler's event store as the source, the
projector's rebuild as the sink."""

import asyncio
from collections.abc import Sequence

from execflow_projector.rebuild import RebuildReport, rebuild
from execflow_scheduler.history import StoredEvents
from execflow_scheduler.settings import SchedulerSettings
from execflow_scheduler.wiring import build_application


def run_rebuild(names: Sequence[str]) -> RebuildReport:
    """Rebuild in the database and schema of EXECFLOW_DATABASE_URL / EXECFLOW_DB_SCHEMA."""
    settings = SchedulerSettings()
    app = build_application(settings)
    store = StoredEvents(app)
    try:
        return asyncio.run(rebuild(settings.database_url, settings.db_schema, store, names))
    finally:
        app.close()
