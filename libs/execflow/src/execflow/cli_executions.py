"""`execflow execution …`: list, get, logs, watch, and the lifecycle commands."""

import json
from typing import Annotated, Any

import typer

from execflow_contracts import LogLineView

from . import render
from .cli_common import Json, client, echo_json, handled
from .client import dump
from .watching import Watched, follow
from .workflow_file import BadWorkflowFile, parse_input

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
    show_execution(ctx, execution_id, as_json)


def show_execution(ctx: typer.Context, execution_id: str, as_json: bool) -> None:
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


def answered(ctx: typer.Context, execution_id: str, name: str, body: Any, as_json: bool) -> None:
    """Send a lifecycle command; print the API's answer."""
    answer = client(ctx).command(execution_id, name, body)
    if as_json:
        echo_json(answer)
    elif name == "retry":
        typer.echo(f"retry: accepted for {execution_id} as {answer.id}")
    else:
        typer.echo(f"{name}: accepted for {execution_id}")


@app.command()
@handled
def cancel(
    ctx: typer.Context,
    execution_id: ID,
    reason: Annotated[str, typer.Option(help="why, kept in the audit trail")] = "",
    as_json: Json = False,
) -> None:
    """Ask a running execution to stop."""
    answered(ctx, execution_id, "cancel", {"reason": reason}, as_json)


@app.command()
@handled
def retry(
    ctx: typer.Context,
    execution_id: ID,
    from_step: Annotated[
        str | None, typer.Option(help="rerun from this step, reusing what succeeded before it")
    ] = None,
    as_json: Json = False,
) -> None:
    """Run an execution again, as a new execution."""
    answered(ctx, execution_id, "retry", {"from_step": from_step}, as_json)


@app.command()
@handled
def resume(
    ctx: typer.Context,
    execution_id: ID,
    input_: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help="the answer: JSON, or key=value (several allowed)"),
    ] = None,
    step: Annotated[str | None, typer.Option(help="the waiting step (when several wait)")] = None,
    as_json: Json = False,
) -> None:
    """Continue an execution that waits for input."""
    body = {"input": answer_of(input_ or []), "step_id": step}
    answered(ctx, execution_id, "resume", body, as_json)


def answer_of(items: list[str]) -> Any:
    """One JSON value as it is, or key=value pairs as an object (values read as JSON
    when they are JSON); no --input is null."""
    if len(items) == 1:
        try:
            return json.loads(items[0])
        except ValueError:
            if "=" not in items[0]:
                raise BadWorkflowFile(
                    f"--input takes JSON or key=value, not {items[0]!r}"
                ) from None
    return dict(parse_input(item) for item in items) if items else None
