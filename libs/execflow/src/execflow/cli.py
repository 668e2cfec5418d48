"""The `execflow` command line."""

import typer

app = typer.Typer(help="execflow: durable executions.", no_args_is_help=True)


@app.command()
def up() -> None:
    """Run execflow with embedded NATS and PostgreSQL until Ctrl-C."""
    from execflow_devstack import up as run_up  # only this command needs the dev stack

    run_up()


@app.command()
def version() -> None:
    """Print execflow's version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("execflow"))
