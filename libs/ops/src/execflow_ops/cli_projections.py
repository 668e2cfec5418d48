"""`execflow projections …`: maintain the read models, directly in the database
(EXECFLOW_DATABASE_URL, EXECFLOW_DB_SCHEMA, like `execflow up`), not through the API."""

import json
from dataclasses import asdict
from typing import Annotated

import typer

app = typer.Typer(help="The read models built from events.", no_args_is_help=True)


@app.command("rebuild")
def rebuild(
    name: Annotated[
        str | None, typer.Argument(help="executions or event_log; both when omitted")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Rebuild read models from the event store into fresh tables and swap them in,
    while everything keeps running. Log lines are not in the event store: they stay."""
    from execflow_projector.rebuild import UnknownReadModel

    from .rebuilding import run_rebuild

    try:
        report = run_rebuild([name] if name else [])
    except UnknownReadModel as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(asdict(report), indent=2))
        return
    typer.echo(
        f"rebuilt {', '.join(report.tables)} from {report.events + report.caught_up} events"
        f" in {report.seconds:.2f}s (tables swapped in {report.swap_ms:.0f} ms;"
        f" {report.caught_up} caught up under the lock)"
    )
