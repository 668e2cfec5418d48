"""`execflow privileges …`: the per-service NATS users and database roles for servers
`execflow up` does not start (EXECFLOW_NATS_URL, EXECFLOW_DATABASE_URL as their admin
and owner, EXECFLOW_DB_SCHEMA, EXECFLOW_BUS_PREFIX), with the passwords kept in a file."""

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Least privilege on servers of your own.", no_args_is_help=True)

PasswordsOption = Annotated[
    Path,
    typer.Option(help="where the passwords are kept (made on first use, mode 0600)"),
]


@app.command("nats-users")
def nats_users(passwords: PasswordsOption = Path(".execflow/passwords.json")) -> None:
    """Print nats-server's `authorization` block (JSON, which a nats-server config may
    include): the admin and a user per part, each allowed its own subjects."""
    from execflow_platform import ServiceSettings

    from .privileges import Passwords, nats_authorization

    passwords.parent.mkdir(parents=True, exist_ok=True)
    block = nats_authorization(ServiceSettings().topology, Passwords(passwords))
    typer.echo(json.dumps({"authorization": block}, indent=2))


@app.command("grant")
def grant(passwords: PasswordsOption = Path(".execflow/passwords.json")) -> None:
    """Create (or update) a role per service on the database and grant it its tables;
    print each service's EXECFLOW_DATABASE_URL. Run it after every migration."""
    from execflow_platform import ServiceSettings

    from .privileges import Passwords, database_roles
    from .roles import grant_roles, service_url

    settings = ServiceSettings()
    passwords.parent.mkdir(parents=True, exist_ok=True)
    roles = database_roles(settings.db_schema, Passwords(passwords))
    grant_roles(settings.database_url, settings.db_schema, roles)
    for role in roles:
        url = service_url(settings.database_url, role)
        typer.echo(f"{role.service}: EXECFLOW_DATABASE_URL={url!r}")
