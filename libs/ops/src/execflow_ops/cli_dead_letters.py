"""`execflow dead-letters …`: read and re-send the messages set aside, directly on the
bus (EXECFLOW_NATS_URL, EXECFLOW_BUS_PREFIX), not through the API."""

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from .dead_letters import DeadLetter

app = typer.Typer(help="Messages set aside because they could never succeed.", no_args_is_help=True)


@app.command("list")
def list_(limit: Annotated[int, typer.Option(min=1, help="at most this many")] = 50) -> None:
    """The oldest dead letters: number, when, where from, why."""
    from execflow_platform import ServiceSettings

    from .dead_letters import listed

    letters = asyncio.run(listed(ServiceSettings(), limit))
    if not letters:
        typer.echo("no dead letters")
    for letter in letters:
        at = letter.at.isoformat(timespec="seconds") if letter.at else "?"
        typer.echo(f"{letter.sequence}\t{at}\t{letter.source}\t{letter.reason[:120]}")


@app.command()
def show(sequence: int) -> None:
    """One dead letter, whole."""
    from execflow_platform import ServiceSettings

    from .dead_letters import shown

    letter = _or_exit(lambda: asyncio.run(shown(ServiceSettings(), sequence)), sequence)
    typer.echo(f"from:   {letter.source}\nreason: {letter.reason}\n\n{letter.body()}")


@app.command()
def replay(sequence: int) -> None:
    """Send a dead letter again to where it came from (after fixing what refused it)."""
    from execflow_platform import ServiceSettings

    from .dead_letters import replayed

    letter = _or_exit(lambda: asyncio.run(replayed(ServiceSettings(), sequence)), sequence)
    typer.echo(f"sent {sequence} again to {letter.source}")


def _or_exit(get: Callable[[], "DeadLetter"], sequence: int) -> "DeadLetter":
    from nats.js.errors import NotFoundError

    try:
        return get()
    except NotFoundError:
        typer.echo(f"error: no dead letter {sequence}", err=True)
        raise typer.Exit(1) from None
