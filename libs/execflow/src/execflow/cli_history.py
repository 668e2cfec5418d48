"""`execflow history export`: the event histories of many executions, as JSON lines."""

from pathlib import Path
from typing import Annotated

import typer

from .cli_common import client, handled

app = typer.Typer(help="The audit trail: every stored event.", no_args_is_help=True)


@app.command("export")
@handled
def export(
    ctx: typer.Context,
    status: Annotated[list[str] | None, typer.Option(help="one or several statuses")] = None,
    workflow: Annotated[str | None, typer.Option(help="workflow id")] = None,
    metadata: Annotated[list[str] | None, typer.Option(help="key=value, several allowed")] = None,
    created_after: Annotated[str | None, typer.Option(help="ISO time")] = None,
    created_before: Annotated[str | None, typer.Option(help="ISO time")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="a file; stdout by default")
    ] = None,
) -> None:
    """Every event of the matching executions, one JSON object a line (execution_id,
    version, type, at, body), oldest execution first."""
    params = [("status", s) for s in status or []]
    given = {"workflow_id": workflow, "created_after": created_after}
    params += [(k, v) for k, v in (given | {"created_before": created_before}).items() if v]
    for item in metadata or []:
        key, _, value = item.partition("=")
        params.append((f"metadata.{key}", value))
    lines = client(ctx).lines("/history", params)
    if output is None:
        for line in lines:
            typer.echo(line)
        return
    count = 0
    with output.open("w") as out:
        for line in lines:
            out.write(line + "\n")
            count += 1
    typer.echo(f"{count} events written to {output}", err=True)
