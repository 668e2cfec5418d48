"""The `execflow` command line: talks to the execflow API (`--api`, EXECFLOW_API_URL)."""

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from stamina.instrumentation import LoggingOnRetryHook, set_on_retry_hooks

from . import (
    cli_access,
    cli_executions,
    cli_functions,
    cli_history,
    cli_schedules,
    cli_workflows,
    plugins,
    render,
)
from .cli_common import Json, client, echo_json, handled
from .cli_options import GlobalOptionsGroup
from .client import DEFAULT_API_URL, Client
from .workflow_file import request_body

app = typer.Typer(
    cls=GlobalOptionsGroup,
    help="execflow: durable executions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(cli_executions.app, name="execution")
app.add_typer(cli_workflows.app, name="workflow")
app.add_typer(cli_history.app, name="history")
app.add_typer(cli_schedules.app, name="schedule")
app.add_typer(cli_access.keys, name="keys")
app.add_typer(cli_access.namespaces, name="namespaces")
workers_app = typer.Typer(help="The runners and agents that take work.", no_args_is_help=True)
app.add_typer(workers_app, name="worker")
# kontinue's words: `execute NAME`, `list`, `show NAME`.
cli_functions.register(app)
app.command("list", help="Executions, newest first (as `execution list`).")(cli_executions.list_)


@app.callback()
def root(
    ctx: typer.Context,
    api: Annotated[
        str,
        typer.Option(
            envvar="EXECFLOW_API_URL", help="the execflow API's base URL (anywhere on the line)"
        ),
    ] = DEFAULT_API_URL,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="EXECFLOW_API_KEY",
            help="the API key (default: the one `execflow up` saved for this API)",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = Client(api, api_key=api_key)
    ctx.call_on_close(ctx.obj.close)


@app.command()
@handled
def run(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="a workflow (or request body), JSON or YAML")],
    input_: Annotated[
        list[str] | None, typer.Option("--input", "-i", help="key=value, several allowed")
    ] = None,
    wait: Annotated[bool, typer.Option(help="show progress; exit 0 only if it completes")] = False,
    as_json: Json = False,
) -> None:
    """Submit a workflow for execution."""
    accepted = client(ctx).create_execution(request_body(file, input_ or []))
    if as_json and not wait:
        echo_json(accepted)
        return
    typer.echo(f"execution {accepted.id} accepted")
    if wait:
        raise typer.Exit(cli_executions.watch_until_done(ctx, str(accepted.id)))


@workers_app.command("list")
@handled
def list_workers(ctx: typer.Context, as_json: Json = False) -> None:
    """Runners and remote agents with their queues, capacity and last heartbeat."""
    workers = client(ctx).workers()
    if as_json:
        echo_json(workers)
    elif workers:
        render.console().print(render.workers(workers))
    else:
        typer.echo("no workers")


@app.command()
@handled
def metrics(
    ctx: typer.Context,
    from_: Annotated[str | None, typer.Option("--from", help="ISO time; default 24 h ago")] = None,
    to: Annotated[str | None, typer.Option(help="ISO time; default now")] = None,
    bucket: Annotated[str, typer.Option(help="minute, hour or day")] = "hour",
    group_by: Annotated[str | None, typer.Option(help="workflow, queue or status")] = None,
    as_json: Json = False,
) -> None:
    """Throughput, success rate, durations and queue wait per time bucket."""
    given = {"from": from_, "to": to, "bucket": bucket, "group_by": group_by}
    answer = client(ctx).metrics({k: v for k, v in given.items() if v})
    if as_json:
        echo_json(answer)
    elif answer.items:
        render.console().print(render.metrics(answer.items, group_by))
    else:
        typer.echo("no executions in that time")


@app.command()
def agent(
    ctx: typer.Context,
    queue: Annotated[
        list[str], typer.Option("--queue", "-q", help="a queue to serve, several allowed")
    ],
    name: Annotated[str | None, typer.Option(help="this agent's name (default: host-pid)")] = None,
    capacity: Annotated[int, typer.Option(min=1, help="steps run at once")] = 1,
    work_dir: Annotated[
        Path | None, typer.Option(help="workspaces (default: a temp folder)")
    ] = None,
    wait: Annotated[float, typer.Option(help="long-poll seconds per claim")] = 10.0,
    stop_grace: Annotated[
        float, typer.Option(min=0, help="seconds a stopped step has to exit before SIGKILL")
    ] = 10.0,
    label: Annotated[
        list[str] | None, typer.Option(help="key=value shown with it in `worker list`")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="EXECFLOW_AGENT_TOKEN",
            help="an agent token for these queues (`execflow keys create --role agent`);"
            " default: the API key",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run steps of QUEUEs on this machine, taken from the API over HTTP (a remote agent)."""
    import asyncio
    import logging
    import os
    import socket

    from . import agent as remote

    logging.basicConfig(level=logging.INFO, format="%(asctime)s agent %(levelname)s %(message)s")
    set_on_retry_hooks([LoggingOnRetryHook])  # an agent logs each retry
    url = client(ctx).base_url
    key = token or client(ctx).api_key
    who = name or f"{socket.gethostname()}-{os.getpid()}"
    folder = (work_dir or remote.default_work_dir()).resolve()
    labels = dict(item.partition("=")[::2] for item in label or [])
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(remote.serve(url, who, queue, capacity, folder, wait, stop_grace, labels, key))


@app.command()
def version() -> None:
    """Print execflow's version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("execflow"))


plugins.add_to(app)


def main() -> None:
    # An error is one line at the end (see cli_common.handled), not a line per retry.
    set_on_retry_hooks([])
    app()
