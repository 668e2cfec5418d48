"""Durations: seconds as a number, or strings such as `500ms`, `5s`, `1m`, `2h`."""

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo

from .json_values import accepted_before

# A century: any longer is a typo, and past a few millennia a moment plus the duration
# is beyond the calendar (Python's datetime ends with the year 9999).
MAX_DURATION_S = 100 * 365 * 86400.0
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


def within_a_century(seconds: float, info: ValidationInfo) -> float:
    if seconds > MAX_DURATION_S and not accepted_before(info):
        raise ValueError(f"longer than a century ({MAX_DURATION_S:.0f} s)")
    return seconds


Duration = Annotated[
    float, BeforeValidator(parse_duration), Field(ge=0), AfterValidator(within_a_century)
]
