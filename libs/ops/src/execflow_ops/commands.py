"""The operations' commands, plugged into the `execflow` CLI by entry points (group
`execflow.cli`): the client package knows nothing of them. Each imports what it runs
only when it runs, so that `execflow --help` stays quick."""

import typer


def up() -> None:
    """Run execflow with embedded NATS and PostgreSQL until Ctrl-C."""
    from .up import up as run_up

    run_up()


def migrate() -> None:
    """Create or update every service's tables in EXECFLOW_DATABASE_URL's
    EXECFLOW_DB_SCHEMA (each service's `execflow-<service> migrate` does its own)."""
    from execflow_scheduler.settings import SchedulerSettings

    from .provision import migrate_all

    settings = SchedulerSettings()
    applied = migrate_all(settings.database_url, settings.db_schema)
    typer.echo(f"{len(applied)} migration(s) applied")
    for migration in applied:
        typer.echo(f"  {migration}")
