"""`execflow workflow …`: register, list and read workflow definitions."""

from pathlib import Path
from typing import Annotated

import typer
import yaml

from . import render
from .cli_common import Json, client, echo_json, handled
from .client import dump
from .workflow_file import BadWorkflowFile

app = typer.Typer(help="Registered workflow definitions.", no_args_is_help=True)


@app.command("register")
@handled
def register(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="a workflow definition, YAML or JSON")],
    as_json: Json = False,
) -> None:
    """Register a definition: a changed one becomes a new version."""
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise BadWorkflowFile(f"cannot read {file}: {exc.strerror}") from None
    # The API reads YAML by its content type, JSON otherwise; JSON is also YAML.
    kind = "application/json" if file.suffix == ".json" else "application/yaml"
    registered = client(ctx).register_workflow(content, kind)
    if as_json:
        echo_json(registered)
    elif registered.created:
        typer.echo(f"workflow {registered.id} registered as version {registered.version}")
    else:
        typer.echo(f"workflow {registered.id} unchanged at version {registered.version}")


@app.command("list")
@handled
def list_(ctx: typer.Context, as_json: Json = False) -> None:
    """The latest version of each registered workflow."""
    items = client(ctx).workflows()
    if as_json:
        echo_json(items)
    elif items:
        render.console().print(render.workflows(items))
    else:
        typer.echo("no workflows registered")


@app.command("get")
@handled
def get(
    ctx: typer.Context,
    workflow_id: Annotated[str, typer.Argument(help="the workflow's id")],
    version: Annotated[int | None, typer.Option(help="a version; the latest by default")] = None,
    as_json: Json = False,
) -> None:
    """A definition, as YAML (or --json)."""
    definition = client(ctx).workflow(workflow_id, version)
    if as_json:
        echo_json(definition)
    else:
        typer.echo(yaml.safe_dump(dump(definition), sort_keys=False).rstrip())
