"""What every CLI command shares: the API client, --json, and errors as one line."""

import functools
import json
from collections.abc import Callable, Sequence
from typing import Annotated, ParamSpec, TypeVar

import typer
from pydantic import BaseModel

from .client import Client, ClientError, dump
from .workflow_file import BadWorkflowFile

P = ParamSpec("P")
R = TypeVar("R")

Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def client(ctx: typer.Context) -> Client:
    api: Client = ctx.find_root().obj
    return api


def echo_json(data: BaseModel | Sequence[BaseModel]) -> None:
    """A view as the API sent it (`--json`)."""
    typer.echo(json.dumps(dump(data), indent=2))


def handled(command: Callable[P, R]) -> Callable[P, R]:
    """An error the user can act on is one line on stderr and exit code 1, not a
    traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (ClientError, BadWorkflowFile) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None

    return run
