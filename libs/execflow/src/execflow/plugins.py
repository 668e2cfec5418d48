"""Commands other packages add to the CLI: operations (`up`, `migrate`, `projections`)
come with the server's packages, not with this client. A package offers them as entry
points in the group `execflow.cli`: a function becomes a command, a Typer app a group."""

from importlib.metadata import entry_points

import typer

GROUP = "execflow.cli"


def add_to(app: typer.Typer) -> None:
    for entry in entry_points(group=GROUP):
        command = entry.load()
        if isinstance(command, typer.Typer):
            app.add_typer(command, name=entry.name)
        else:
            app.command(entry.name)(command)
