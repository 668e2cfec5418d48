"""`execflow keys …`, `execflow namespaces …` and `execflow secrets …`: who may do what,
and what their steps may be given (admin keys)."""

import sys
from typing import Annotated, Any

import typer

from execflow_contracts import new_secrets_key

from .cli_common import Json, client, echo_json, handled

keys = typer.Typer(help="API keys: each with a namespace and a role.", no_args_is_help=True)
namespaces = typer.Typer(help="Namespaces: whose executions are whose.", no_args_is_help=True)
secrets = typer.Typer(
    help="Secrets of your namespace: stored encrypted, given to steps that name them"
    " (`env: {TOKEN: {secret: NAME}}`), masked in their logs.",
    no_args_is_help=True,
)


@keys.command("create")
@handled
def create_key(
    ctx: typer.Context,
    role: Annotated[str, typer.Option(help="reader, operator, admin, or agent")] = "reader",
    namespace: Annotated[
        str | None, typer.Option(help="default: the namespace of the key you use")
    ] = None,
    name: Annotated[str, typer.Option(help="what the key is for")] = "",
    queue: Annotated[
        list[str] | None, typer.Option("--queue", "-q", help="an agent token's queue")
    ] = None,
    as_json: Json = False,
) -> None:
    """Make a key; its secret is printed once (only its hash is stored)."""
    body: dict[str, Any] = {"role": role, "name": name}
    if namespace is not None:
        body["namespace"] = namespace
    if queue:
        body["queues"] = queue
    made = client(ctx).create_key(body)
    if as_json:
        echo_json(made)
        return
    typer.echo(f"key {made.id} ({made.role} of namespace {made.namespace}):")
    typer.echo(made.key)
    typer.echo("keep it now: it is not shown again")


@keys.command("list")
@handled
def list_keys(ctx: typer.Context, as_json: Json = False) -> None:
    """Keys of your namespace (of every namespace, for an admin of `default`)."""
    found = client(ctx).keys()
    if as_json:
        echo_json(found)
        return
    for key in found:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "live"
        queues = f" queues={','.join(key.queues)}" if key.queues else ""
        typer.echo(f"{key.id}  {key.namespace:<16} {key.role:<9} {state:<22} {key.name}{queues}")


@keys.command("revoke")
@handled
def revoke_key(
    ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="the key's id")]
) -> None:
    """Stop a key from working (at once on the API that is asked; within 30 s on others)."""
    client(ctx).revoke_key(key_id)
    typer.echo(f"key {key_id} revoked")


@namespaces.command("create")
@handled
def create_namespace(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="lower-case letters, digits and dashes")],
    retention: Annotated[
        float | None,
        typer.Option(help="seconds a finished execution is kept (default: for good)"),
    ] = None,
    as_json: Json = False,
) -> None:
    """Make a namespace (an admin of `default` may)."""
    body: dict[str, Any] = {"name": name}
    if retention is not None:
        body["retention_s"] = retention
    made = client(ctx).create_namespace(body)
    if as_json:
        echo_json(made)
    else:
        typer.echo(f"namespace {made.name} created")
        # Its queues are its own: no runner serves them until one is told to.
        typer.echo(f"its work runs on runners started with EXECFLOW_QUEUES={made.name}/default")


@namespaces.command("list")
@handled
def list_namespaces(ctx: typer.Context, as_json: Json = False) -> None:
    """Every namespace."""
    found = client(ctx).namespaces()
    if as_json:
        echo_json(found)
        return
    for item in found:
        kept = f"kept {item.retention_s:g} s" if item.retention_s else "kept"
        typer.echo(f"{item.name:<24} {kept}")


@secrets.command("set")
@handled
def set_secret(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the name steps give as `{secret: NAME}`")],
    value: Annotated[
        str | None,
        typer.Option(
            help="the value (default: read from stdin, which keeps it out of the shell's"
            " history and the process list)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Set or replace a secret (an admin key); its value is never shown again."""
    if value is None:
        value = sys.stdin.read()
        # `echo … |` and a file end with a newline that is not part of the secret.
        value = value[:-1] if value.endswith("\n") else value
        value = value[:-1] if value.endswith("\r") else value
    if not value:
        raise typer.BadParameter("the value is empty", param_hint="--value or stdin")
    made = client(ctx).set_secret(name, value)
    typer.echo(f"secret {made.name} set in namespace {made.namespace}")


@secrets.command("list")
@handled
def list_secrets(ctx: typer.Context, as_json: Json = False) -> None:
    """Your namespace's secrets: names and dates (values are never shown)."""
    found = client(ctx).secrets()
    if as_json:
        echo_json(found)
        return
    for item in found:
        typer.echo(f"{item.name:<32} updated {item.updated_at:%Y-%m-%d %H:%M:%S}")


@secrets.command("delete")
@handled
def delete_secret(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="the secret's name")]
) -> None:
    """Delete a secret: steps that name it fail to start from now on."""
    client(ctx).delete_secret(name)
    typer.echo(f"secret {name} deleted")


@secrets.command("rotate")
@handled
def rotate_secrets(ctx: typer.Context, as_json: Json = False) -> None:
    """Re-seal every namespace's secrets under the API's current key (EXECFLOW_SECRETS_KEY),
    opening each with the key that sealed it (EXECFLOW_SECRETS_OLD_KEYS); an admin key of
    `default`. Run it again: it re-seals nothing more."""
    rotated = client(ctx).rotate_secrets()
    if as_json:
        echo_json(rotated)
        return
    typer.echo(
        f"{rotated.resealed} secret(s) re-sealed under key {rotated.key_id},"
        f" {rotated.already_current} already under it"
    )


@secrets.command("new-key")
def new_key() -> None:
    """Print a fresh secrets key (32 random bytes, url-safe base64), for
    EXECFLOW_SECRETS_KEY; the old one then goes in EXECFLOW_SECRETS_OLD_KEYS until a rotate."""
    typer.echo(new_secrets_key())
