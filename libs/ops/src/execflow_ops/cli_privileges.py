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
def grant(
    passwords: PasswordsOption = Path(".execflow/passwords.json"),
    show_urls: Annotated[
        bool, typer.Option(help="print each service's EXECFLOW_DATABASE_URL (its password)")
    ] = False,
) -> None:
    """Create (or update) a role per service on the database and grant it its tables.
    Run it after every migration. (`privileges env` writes the services' URLs to files;
    printed here only when asked, as a log is no place for a password.)"""
    from execflow_platform import ServiceSettings

    from .privileges import Passwords, database_roles
    from .roles import grant_roles, service_url

    settings = ServiceSettings()
    passwords.parent.mkdir(parents=True, exist_ok=True)
    roles = database_roles(settings.db_schema, Passwords(passwords))
    grant_roles(settings.database_url, settings.db_schema, roles)
    for role in roles:
        url = service_url(settings.database_url, role)
        shown = f": EXECFLOW_DATABASE_URL={url!r}" if show_urls else ""
        typer.echo(f"{role.service}: role {role.name} granted{shown}")


@app.command("env")
def env(
    out: Annotated[Path, typer.Option(help="the folder of the files (made 0700)")],
    passwords: Annotated[
        Path | None,
        typer.Option(help="where the passwords are kept (default: OUT/passwords.json)"),
    ] = None,
    grant_roles: Annotated[
        bool,
        typer.Option(
            "--grant/--no-grant",
            help="grant the roles on the database now (after `execflow migrate`);"
            " --no-grant: only write the files, no server asked (grant later)",
        ),
    ] = True,
    admin_key: Annotated[
        bool,
        typer.Option(
            "--admin-key/--no-admin-key",
            help="make an admin API key (namespace default), kept in admin.env as"
            " EXECFLOW_API_KEY (one already there that works is kept)",
        ),
    ] = False,
) -> None:
    """Everything least privilege needs on servers of your own, in one go: nats-server's
    `authorization` include (nats-authorization.conf), the roles granted, and an env
    file per part with its own credentials only (scheduler, projector, api, runner,
    worker: a function worker's) plus admin.env (the admin's and owner's URLs: for
    setup and your tools, no service). EXECFLOW_NATS_URL and EXECFLOW_DATABASE_URL say
    where the servers are, as the services will reach them, the database's as its
    schema's owner."""
    import os

    from execflow_platform import ServiceSettings

    from .deployment import ADMIN, read_env_file, write_deployment
    from .privileges import Passwords, grant
    from .secrets_key import VARIABLE as SECRETS_KEY_VARIABLE

    settings = ServiceSettings()
    missing = {"nats_url", "database_url"} - settings.model_fields_set
    if missing:
        names = ", ".join(f"EXECFLOW_{name.upper()}" for name in sorted(missing))
        typer.echo(f"error: set {names}: where the servers are", err=True)
        raise typer.Exit(2)
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    kept = Passwords(passwords or out / "passwords.json")
    if grant_roles:
        grant(settings.database_url, settings.db_schema, kept)
    # A key made by an earlier run stays in admin.env (it is in the database still).
    admin_env = out / f"{ADMIN}.env"
    api_key = read_env_file(admin_env).get("EXECFLOW_API_KEY") if admin_env.exists() else None
    if admin_key:
        api_key = _admin_key(settings.database_url, settings.db_schema, api_key)
    written = write_deployment(
        out,
        settings.nats_url,
        settings.database_url,
        settings.db_schema,
        settings.bus_prefix,
        kept,
        os.environ.get(SECRETS_KEY_VARIABLE),
        api_key,
    )
    typer.echo(f"roles granted on {settings.db_schema}" if grant_roles else "roles not granted")
    for path in written:
        typer.echo(f"  {path}")
    typer.echo(f"nats-server: include {out.resolve() / written[0].name} in its config, restart")


def _admin_key(database_url: str, schema: str, saved: str | None) -> str:
    from .access import make_key, works

    if saved and works(database_url, schema, saved):
        return saved
    return make_key(database_url, schema, name="execflow privileges env")
