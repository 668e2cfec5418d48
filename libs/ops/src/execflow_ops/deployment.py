"""Least privilege on servers execflow does not start, written in one go for an operator
(`execflow privileges env --out DIR`): nats-server's `authorization` include, and one
env file per part holding that part's credentials and no other's.

The files are plain `NAME=value` lines, the value the rest of the line (a database
URL is libpq's `key=value …` form, with spaces): what compose's `env_file`,
`kubectl create secret generic --from-env-file`, `docker run --env-file` and systemd's
`EnvironmentFile=` all read. Each is readable by its owner only: it holds passwords.
"""

import json
import os
from pathlib import Path

from execflow_contracts import Topology

from .privileges import (
    SERVICES,
    Passwords,
    admin_nats_url,
    nats_authorization,
    service_env,
    worker_nats_url,
)
from .secrets_key import VARIABLE as SECRETS_KEY_VARIABLE
from .secrets_key import secrets_key

AUTHORIZATION_FILE = "nats-authorization.conf"
WORKER, ADMIN = "worker", "admin"
# The parts that seal (api) or open (runner) secrets: the one key both must share.
SECRETS_KEY_HOLDERS = ("api", "runner")
# The env files: a service's each, a function worker's, and the operator's (the admin
# NATS user and the schema's owner: for `setup` and the operator's tools, no service).
ENV_FILES = (*SERVICES, WORKER, ADMIN)


def write_private(path: Path, text: str) -> Path:
    """Write `text` to `path`, readable by its owner only, even for a moment, and even
    when the file was there before with a looser mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    return path


def write_authorization(out: Path, topology: Topology, passwords: Passwords) -> Path:
    """nats-server's `authorization` block as a file its config may `include` (the
    JSON of the block is nats-server's config syntax too)."""
    block = json.dumps(nats_authorization(topology, passwords), indent=2)
    return write_private(out / AUTHORIZATION_FILE, f"authorization: {block}\n")


def env_files(
    nats_url: str,
    database_url: str,
    schema: str,
    prefix: str,
    passwords: Passwords,
    sealing_key: str,
    api_key: str | None = None,
) -> dict[str, dict[str, str]]:
    """Each env file's variables: the part's own URLs, where its deployment lives."""
    deployment = {"EXECFLOW_DB_SCHEMA": schema, "EXECFLOW_BUS_PREFIX": prefix}
    files = {
        name: deployment | own
        for name, own in service_env(nats_url, database_url, schema, passwords).items()
    }
    for name in SECRETS_KEY_HOLDERS:
        files[name][SECRETS_KEY_VARIABLE] = sealing_key
    # A function worker talks to NATS only (see `worker_nats_url`).
    worker = {"EXECFLOW_NATS_URL": worker_nats_url(nats_url, passwords)}
    files[WORKER] = {"EXECFLOW_BUS_PREFIX": prefix} | worker
    admin = {
        "EXECFLOW_NATS_URL": admin_nats_url(nats_url, passwords),
        "EXECFLOW_DATABASE_URL": database_url,
    }
    if api_key is not None:
        admin["EXECFLOW_API_KEY"] = api_key  # the CLI's, as `execflow up`'s first key
    files[ADMIN] = deployment | admin
    return files


def env_text(variables: dict[str, str]) -> str:
    for name, value in variables.items():
        if "\n" in value or "\r" in value:
            # A line break would end the value and start a variable of the reader's.
            raise ValueError(f"{name} holds a line break: an env file cannot say it")
    return "".join(f"{name}={value}\n" for name, value in variables.items())


def read_env_file(path: Path) -> dict[str, str]:
    """An env file as compose and kubectl read it: `NAME=value` lines, `#` comments."""
    lines = path.read_text().splitlines()
    pairs = (line.partition("=") for line in lines if line and not line.startswith("#"))
    return {name: value for name, _, value in pairs}


def write_deployment(
    out: Path,
    nats_url: str,
    database_url: str,
    schema: str,
    prefix: str,
    passwords: Passwords,
    configured_key: str | None = None,
    api_key: str | None = None,
) -> list[Path]:
    """The authorization include and every env file in `out` (made 0700); the secrets
    key made once and kept there (`secrets.key`) unless `configured_key` is given; an
    admin API key in the operator's file if given."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = [write_authorization(out, Topology(prefix), passwords)]
    sealing_key = secrets_key(out, configured_key)
    files = env_files(nats_url, database_url, schema, prefix, passwords, sealing_key, api_key)
    for name, variables in files.items():
        written.append(write_private(out / f"{name}.env", env_text(variables)))
    return written
