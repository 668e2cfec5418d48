"""`execflow schedule …`: run a registered workflow on a cron expression or an interval."""

from typing import Annotated, Any

import typer

from . import render
from .cli_common import Json, client, echo_json, handled
from .workflow_file import parse_input

app = typer.Typer(help="Schedules of registered workflows.", no_args_is_help=True)

ID = Annotated[str, typer.Argument(help="the schedule's id")]


@app.command("create")
@handled
def create(
    ctx: typer.Context,
    workflow: Annotated[str, typer.Argument(help="a registered workflow's id")],
    cron: Annotated[str | None, typer.Option(help="a cron expression: '0 2 * * *'")] = None,
    every: Annotated[str | None, typer.Option(help="an interval instead: 30s, 5m")] = None,
    timezone: Annotated[str, typer.Option(help="the cron's time zone")] = "UTC",
    input_: Annotated[
        list[str] | None, typer.Option("--input", "-i", help="key=value, several allowed")
    ] = None,
    version: Annotated[int | None, typer.Option(help="a version; the latest at each fire")] = None,
    catchup: Annotated[str, typer.Option(help="fires missed while down: skip or once")] = "skip",
    as_json: Json = False,
) -> None:
    """Fire WORKFLOW on a cron expression (--cron) or an interval (--every)."""
    body: dict[str, Any] = {"workflow_id": workflow, "timezone": timezone, "catchup": catchup}
    given = {"cron": cron, "every": every, "version": version}
    body |= {k: v for k, v in given.items() if v is not None}
    body["input"] = dict(parse_input(i) for i in input_ or []) or None
    made = client(ctx).create_schedule(body)
    if as_json:
        echo_json(made)
    else:
        typer.echo(f"schedule {made.id} created; first fire at {made.next_fire_at.isoformat()}")


@app.command("list")
@handled
def list_(
    ctx: typer.Context,
    workflow: Annotated[str | None, typer.Option(help="only this workflow's")] = None,
    as_json: Json = False,
) -> None:
    """Schedules, with their next fire."""
    items = client(ctx).schedules(workflow)
    if as_json:
        echo_json(items)
    elif items:
        render.console().print(render.schedules(items))
    else:
        typer.echo("no schedules")


def switch(name: str, doc: str) -> None:
    @app.command(name, help=doc)
    @handled
    def command(ctx: typer.Context, schedule_id: ID, as_json: Json = False) -> None:
        answer = client(ctx).switch_schedule(schedule_id, name)
        if as_json:
            echo_json(answer)
        else:
            typer.echo(f"schedule {schedule_id} {answer.status}")


switch("pause", "Stop firing until resumed.")
switch("resume", "Fire again, from the next time after now.")


@app.command("delete")
@handled
def delete(ctx: typer.Context, schedule_id: ID) -> None:
    """Remove a schedule; what it fired stays."""
    client(ctx).delete_schedule(schedule_id)
    typer.echo(f"schedule {schedule_id} deleted")
