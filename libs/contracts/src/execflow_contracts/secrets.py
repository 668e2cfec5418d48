"""Secrets: values kept encrypted by execflow, named in a step's `env`
(`env: {TOKEN: {secret: deploy-token}}`) and put in its environment only when it starts.

A step's spec, its events, its work message and every read model hold the name only.
What the step writes is masked (`SecretMask`) before it leaves the runner: its log lines,
its facts and its output say `***` where a value was.
"""

import base64
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# A name as it appears in a URL path and a CLI argument: no slashes, no spaces.
SecretName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")]
# A secret is a token, a password, a key file: not a document.
MAX_SECRET_BYTES = 64 * 1024
MASK = "***"
# A line of a multi-line value is masked on its own only from this length: log lines
# are split, so a PEM key's lines come one by one, but `}` or `--` alone are no secret.
MIN_MASKED_LINE = 4
# A secrets key: AES-256, written as url-safe base64.
SECRETS_KEY_BYTES = 32


def new_secrets_key() -> str:
    """A fresh secrets key (`EXECFLOW_SECRETS_KEY`), as `execflow secrets new-key` prints it."""
    return base64.urlsafe_b64encode(os.urandom(SECRETS_KEY_BYTES)).decode()


class SecretRef(BaseModel):
    """`{secret: NAME}` in a step's `env`: the value of the namespace's secret NAME."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret: SecretName


class SecretRequest(BaseModel):
    """`PUT /api/v1/secrets/{name}`: the value (stored encrypted; never shown again)."""

    model_config = ConfigDict(extra="forbid")

    value: Annotated[str, Field(min_length=1, max_length=MAX_SECRET_BYTES)]

    @field_validator("value")
    @classmethod
    def _bytes(cls, value: str) -> str:
        # `max_length` counts characters; an environment variable's limit is in bytes.
        if len(value.encode()) > MAX_SECRET_BYTES:
            raise ValueError(f"at most {MAX_SECRET_BYTES} bytes")
        return value


@dataclass(frozen=True)
class SecretMask:
    """Replaces the values of a step's secrets with `***` in what it writes."""

    values: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str]) -> "SecretMask":
        found: set[str] = set()
        for value in values:
            if not value:
                continue
            found.add(value)
            lines = [line.strip() for line in value.splitlines()]
            found.update(line for line in lines if len(line) >= MIN_MASKED_LINE)
        # Longest first: a value that holds another is masked whole.
        return cls(tuple(sorted(found, key=len, reverse=True)))

    def __bool__(self) -> bool:
        return bool(self.values)

    def text(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def json(self, value: Any) -> Any:
        """`value` (JSON: strings, lists, objects) with every string, and key, masked."""
        if not self.values:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.json(v) for k, v in value.items()}
        return value
