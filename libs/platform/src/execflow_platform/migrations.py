"""Versioned schema migrations, with yoyo: each owner of tables (a service, the
catalogue) keeps numbered SQL files in a `migrations` folder of its package, and each
schema records which ones it has had. A migration runs once, in its own transaction."""

from importlib.resources import files
from urllib.parse import quote, urlencode

from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

from .database import ensure_schema


def migrations_of(package: str) -> str:
    """The folder of `package`'s migrations."""
    return str(files(package) / "migrations")


def migrate(database_url: str, schema: str, *folders: str) -> list[str]:
    """Apply the migrations of `folders` that `schema` has not had; their ids."""
    ensure_schema(database_url, schema)
    backend = get_backend(yoyo_uri(database_url, schema))
    try:
        with backend.lock():
            todo = backend.to_apply(read_migrations(*folders))
            backend.apply_migrations(todo)
        return [migration.id for migration in todo]
    finally:
        backend.connection.close()


def yoyo_uri(database_url: str, schema: str) -> str:
    """Our libpq URL as yoyo's: host and port in the query, where a socket folder fits."""
    parts = {k: str(v) for k, v in conninfo_to_dict(database_url).items()}
    user = quote(parts.pop("user", "postgres"), safe="")
    password = parts.pop("password", "")
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    database = quote(parts.pop("dbname", "postgres"), safe="")
    return f"postgresql+psycopg://{credentials}@/{database}?{urlencode(parts | {'schema': schema})}"
