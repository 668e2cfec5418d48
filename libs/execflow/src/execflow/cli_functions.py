"""kontinue's commands: `execflow execute NAME --arg k=v [--interactive]` runs the
workflow registered as NAME, or else calls the function NAME that workers serve (one
step, no workflow file: kontinue's functions are either), and, interactive, follows it
and asks the person at the terminal whatever a step asks; `execflow list`; `execflow
show NAME` (an execution's id, or its kontinue name)."""

import json
from typing import Annotated, Any
from uuid import UUID

import typer

from . import render
from .cli_common import Json, client, echo_json, handled
from .cli_executions import KNOWN_WITHIN_S, show_execution
from .client import ApiError, Client
from .watching import Watched, follow
from .workflow_file import BadWorkflowFile, parse_input

NAME_KEY = "kontinue.name"


def register(app: typer.Typer) -> None:
    app.command()(execute)
    app.command()(show)


@handled
def execute(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(help="a registered workflow, or a function that workers serve")
    ],
    arg: Annotated[
        list[str] | None,
        typer.Option("--arg", "-a", help="key=value (value as JSON if it is), several allowed"),
    ] = None,
    queue: Annotated[str | None, typer.Option(help="a function's queue")] = None,
    interactive: Annotated[
        bool, typer.Option(help="follow the run; answer here what its steps ask")
    ] = False,
    as_json: Json = False,
) -> None:
    """Run NAME with its arguments; --interactive follows it to its end (exit 0 only if
    it completes)."""
    arguments = dict(parse_input(item, "--arg") for item in arg or [])
    body = {"arguments": arguments} | ({"queue": queue} if queue else {})
    accepted = client(ctx).execute_function(name, body)
    if as_json and not interactive:
        echo_json(accepted)
        return
    typer.echo(f"execution {accepted.id} of {name} accepted")
    if interactive:
        raise typer.Exit(follow_and_answer(client(ctx), str(accepted.id)))


def follow_and_answer(api: Client, execution_id: str) -> int:
    out = render.console()
    state = Watched()
    asked: set[str] = set()
    events = api.stream(f"/executions/{execution_id}/events", {"wait": KNOWN_WITHIN_S})
    for change in follow(events, state):
        out.print(render.change(change))
        for step_id, (prompt, schema) in list(state.questions.items()):
            if step_id not in asked:
                asked.add(step_id)
                answer(api, execution_id, step_id, prompt, schema)
    out.print()
    out.print(render.steps(list(state.steps.values())))
    return 0 if state.status == "completed" else 1


def answer(api: Client, execution_id: str, step_id: str, prompt: str, schema: Any) -> None:
    """Ask until the API takes the answer (it checks it against the step's schema)."""
    hint = f" (JSON: {json.dumps(schema)})" if schema else ""
    while True:
        raw = typer.prompt(f"step {step_id} asks: {prompt}{hint}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw  # plain text is a string
        try:
            api.command(execution_id, "resume", {"input": value, "step_id": step_id})
            return
        except ApiError as exc:
            if exc.status != 422:
                raise
            typer.echo(f"not taken: {exc.reason}", err=True)


@handled
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="an execution's id, or its kontinue name")],
    as_json: Json = False,
) -> None:
    """An execution's status, timings, input, output and steps."""
    show_execution(ctx, resolve(client(ctx), name), as_json)


def resolve(api: Client, name: str) -> str:
    """An execution's id from itself or from its (kontinue) name."""
    try:
        return str(UUID(name))
    except ValueError:
        pass
    found = api.list_executions([(f"metadata.{NAME_KEY}", name), ("limit", "2")]).items
    if len(found) != 1:
        which = "no execution" if not found else "several executions"
        raise BadWorkflowFile(f"{which} named {name!r}: give its id")
    return str(found[0].id)
