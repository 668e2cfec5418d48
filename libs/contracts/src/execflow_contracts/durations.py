"""Durations: seconds as a number, or strings such as `500ms`, `5s`, `1m`, `2h`."""

import re
from typing import Annotated

from pydantic import BeforeValidator, Field

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(value: object) -> object:
    """Seconds as a float; anything unparseable is left for pydantic to refuse."""
    if isinstance(value, str):
        match = _PATTERN.match(value)
        if not match:
            raise ValueError(f"not a duration: {value!r} (use seconds, or e.g. 500ms, 5s, 1m, 2h)")
        return float(match.group(1)) * _UNITS[match.group(2) or "s"]
    return value


Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
