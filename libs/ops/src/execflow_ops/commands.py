"""The operations' commands, plugged into the `execflow` CLI by entry points (group
`execflow.cli`): the client package knows nothing of them. Each imports what it runs
only when it runs, so that `execflow --help` stays quick."""

from pathlib import Path
from typing import Annotated

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


def chaos(
    executions: Annotated[int, typer.Option(help="executions submitted")] = 2000,
    rate: Annotated[float, typer.Option(help="executions submitted a second")] = 20.0,
    fault: Annotated[
        list[str] | None, typer.Option(help="a fault to inject (several allowed; default: all)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="write the verdict here as JSON")] = None,
    home: Annotated[
        Path | None, typer.Option(help="keep the run's data and logs here (default: a temp folder)")
    ] = None,
) -> None:
    """Run a whole stack of its own under faults while executions are submitted, then
    prove nothing was lost, stuck or run twice at once. Exit 1 if anything was."""
    from .chaos.faults import ALL
    from .chaos.report import show
    from .chaos.run import Plan, run, to_json

    unknown = [name for name in fault or [] if name not in ALL]
    if unknown:
        typer.echo(f"error: unknown fault {unknown[0]!r} (known: {', '.join(ALL)})", err=True)
        raise typer.Exit(2)
    verdict = run(Plan(executions=executions, rate=rate, faults=tuple(fault or ALL)), home)
    show(verdict)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(to_json(verdict))
    raise typer.Exit(0 if verdict.passed else 1)
