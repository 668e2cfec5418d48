"""Least privilege for a stack `execflow up` starts: a NATS user and a PostgreSQL role
per service, their passwords kept in the data folder, and what each service is given
to log in with.

The passwords are made once (the roles and the database's superuser outlive a restart)
and kept in `<data>/passwords.json`, readable by its owner only. A service finds its
own credentials in its `EXECFLOW_NATS_URL` and `EXECFLOW_DATABASE_URL`, and nothing of
any other's; the admin's are for provisioning and the operator's tools.
"""

import json
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from execflow_contracts import Topology
from execflow_platform import NATS_ADMIN, nats_permissions

from .roles import ROLES, Role, grant_roles, role_name, service_url

PASSWORDS_FILE = "passwords.json"
POSTGRES_SUPERUSER = "postgres"
# Which NATS user and database role each service program logs in as (the runner's role
# reads the sealed secrets only).
SERVICES: dict[str, tuple[str, str | None]] = {
    "scheduler": ("scheduler", "scheduler"),
    "projector": ("projector", "projector"),
    "api": ("api", "api"),
    "runner": ("runner", "runner"),
}


class Passwords:
    """`nats:<user>` and `postgres:<role>` passwords, made when first asked for."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._values: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}

    def of(self, kind: str, name: str) -> str:
        key = f"{kind}:{name}"
        if key not in self._values:
            self._values[key] = secrets.token_urlsafe(24)
            self._save()
        return self._values[key]

    def known(self) -> dict[str, str]:
        return dict(self._values)

    def _save(self) -> None:
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(self._values, file, indent=2)


def passwords_in(data_dir: Path) -> Passwords:
    return Passwords(data_dir / PASSWORDS_FILE)


def nats_authorization(topology: Topology, passwords: Passwords) -> dict[str, Any]:
    """nats-server's `authorization` block: the admin, and one user per part."""
    users: list[dict[str, Any]] = [
        {"user": NATS_ADMIN, "password": passwords.of("nats", NATS_ADMIN)},
    ]
    for user, allowed in nats_permissions(topology).items():
        users.append(
            {
                "user": user,
                "password": passwords.of("nats", user),
                "permissions": allowed.as_config(),
            }
        )
    return {"users": users}


def nats_url_as(nats_url: str, user: str, password: str) -> str:
    """`nats_url` with a user's name and password in it."""
    parts = urlsplit(nats_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def database_roles(schema: str, passwords: Passwords) -> list[Role]:
    return [
        Role(service, name, passwords.of("postgres", name))
        for service in ROLES
        for name in [role_name(schema, service)]
    ]


def grant(database_url: str, schema: str, passwords: Passwords) -> None:
    """Create the services' roles and grant them their tables (after the migrations)."""
    grant_roles(database_url, schema, database_roles(schema, passwords))


def service_env(
    nats_url: str, database_url: str, schema: str, passwords: Passwords
) -> dict[str, dict[str, str]]:
    """Each service program's own credentials, as the variables its settings read."""
    roles = {role.service: role for role in database_roles(schema, passwords)}
    env: dict[str, dict[str, str]] = {}
    for service, (user, role) in SERVICES.items():
        env[service] = {
            "EXECFLOW_NATS_URL": nats_url_as(nats_url, user, passwords.of("nats", user)),
            # No database at all for a service without a role.
            "EXECFLOW_DATABASE_URL": service_url(database_url, roles[role]) if role else "",
        }
    return env


def admin_nats_url(nats_url: str, passwords: Passwords) -> str:
    return nats_url_as(nats_url, NATS_ADMIN, passwords.of("nats", NATS_ADMIN))


def worker_nats_url(nats_url: str, passwords: Passwords) -> str:
    """What a function worker (libs/worker) connects with."""
    return nats_url_as(nats_url, "worker", passwords.of("nats", "worker"))
