"""`execflow execution …`: list, get, logs, watch, and the lifecycle commands."""

import json
from typing import Annotated, Any

import typer

from execflow_contracts import LogLineView

from . import render
from .cli_common import Json, client, echo_json, handled
from .client import dump
from .watching import Watched, follow

app = typer.Typer(help="Read and steer executions.", no_args_is_help=True)

ID = Annotated[str, typer.Argument(help="the execution's id")]
# How long `watch` waits for a just-created execution to reach the read models.
KNOWN_WITHIN_S = 10.0


@app.command("list")
@handled
def list_(
    ctx: typer.Context,
    status: Annotated[list[str] | None, typer.Option(help="one or several statuses")] = None,
    workflow: Annotated[str | None, typer.Option(help="workflow id")] = None,
    queue: str | None = None,
    worker: str | None = None,
    metadata: Annotated[list[str] | None, typer.Option(help="key=value, several allowed")] = None,
    limit: int = 50,
    as_json: Json = False,
) -> None:
    """Executions, newest first."""
    params = [("status", s) for s in status or []]
    params += [(k, v) for k, v in (("workflow_id", workflow), ("queue", queue)) if v]
    params += [("worker", worker)] if worker else []
    for item in metadata or []:
        key, _, value = item.partition("=")
        params.append((f"metadata.{key}", value))
    params.append(("limit", str(limit)))
    page = client(ctx).list_executions(params)
    if as_json:
        echo_json(page)
    elif page.items:
        render.console().print(render.executions(page.items))
    else:
        typer.echo("no executions")


@app.command()
@handled
def get(ctx: typer.Context, execution_id: ID, as_json: Json = False) -> None:
    """An execution's status, timings, input, output and steps."""
    execution = client(ctx).get_execution(execution_id)
    if as_json:
        echo_json(execution)
        return
    out = render.console()
    out.print(render.execution(execution))
    out.print()
    out.print(render.steps(execution.steps))


@app.command()
@handled
def logs(
    ctx: typer.Context,
    execution_id: ID,
    follow_: Annotated[bool, typer.Option("--follow", "-f", help="until it ends")] = False,
    step: Annotated[str | None, typer.Option(help="only this step's lines")] = None,
    as_json: Json = False,
) -> None:
    """An execution's log lines; --follow prints new ones as they come."""
    api = client(ctx)
    out = render.console()
    params: dict[str, Any] = {"step": step} if step else {}

    def show(line: LogLineView) -> None:
        if as_json:
            typer.echo(json.dumps(dump(line)))
        else:
            out.print(render.log_line(line))

    if follow_:
        for event in api.stream(f"/executions/{execution_id}/logs", params):
            if event.event == "line":
                show(LogLineView.model_validate_json(event.data))
        return
    after: int | None = 0
    while after is not None:
        page = api.log_page(execution_id, {**params, "after": after})
        for line in page.items:
            show(line)
        after = page.next_cursor


@app.command()
@handled
def watch(ctx: typer.Context, execution_id: ID) -> None:
    """Status and steps as they change, until the end (exit 0 only if completed)."""
    raise typer.Exit(watch_until_done(ctx, execution_id))


def watch_until_done(ctx: typer.Context, execution_id: str) -> int:
    api = client(ctx)
    out = render.console()
    state = Watched()
    # The read models trail a create's 202 a little: the stream waits for them.
    events = api.stream(f"/executions/{execution_id}/events", {"wait": KNOWN_WITHIN_S})
    for change in follow(events, state):
        out.print(render.change(change))
    out.print()
    out.print(render.steps(list(state.steps.values())))
    if state.error:
        out.print(f"error: {json.dumps(state.error)}", style="red")
    return 0 if state.status == "completed" else 1


def lifecycle(name: str, doc: str) -> None:
    @app.command(name, help=doc)
    @handled
    def command(ctx: typer.Context, execution_id: ID, as_json: Json = False) -> None:
        answer = client(ctx).command(execution_id, name)
        if as_json:
            echo_json(answer)
        else:
            typer.echo(f"{name}: accepted for {execution_id}")


lifecycle("cancel", "Ask a running execution to stop.")
lifecycle("retry", "Run a finished execution again, as a new execution.")
lifecycle("resume", "Continue an execution that waits for input.")
