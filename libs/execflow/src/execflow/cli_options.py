"""Global options anywhere on the line, as kubectl's and temporal's are:
`execflow execution list --api URL` is `execflow --api URL execution list`, and
`execflow --json execution list` is `execflow execution list --json`."""

from typing import Any

from typer.core import TyperGroup

API_OPTION = "--api"
JSON_OPTION = "--json"
# Global options that take a value.
VALUED = (API_OPTION, "--api-key")


def hoisted(args: list[str]) -> list[str]:
    """`--api` and `--api-key` (with their values) moved to the front, `--json` to the
    end of the options; what follows `--` is left as it is."""
    end = args.index("--") if "--" in args else len(args)
    front: list[str] = []
    middle: list[str] = []
    back: list[str] = []
    i = 0
    while i < end:
        arg = args[i]
        if arg in VALUED and i + 1 < end:
            front += args[i : i + 2]
            i += 2
            continue
        if arg.startswith(tuple(option + "=" for option in VALUED)):
            front.append(arg)
        elif arg == JSON_OPTION:
            back = [JSON_OPTION]
        else:
            middle.append(arg)
        i += 1
    return front + middle + back + args[end:]


class GlobalOptionsGroup(TyperGroup):
    """The root command: reads the global options wherever they are."""

    # `ctx` is the click context typer vendors (a private module): Any, not its class.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoisted(args))
