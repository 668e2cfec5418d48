"""The secrets a step's `env` names, opened as it starts: read from the catalogue's
table (its namespace's, by the work's namespace) with the runner's keyring (its
EXECFLOW_SECRETS_KEY and EXECFLOW_SECRETS_OLD_KEYS).
A runner that never meets a step with secrets never connects to PostgreSQL for them."""

import asyncio

from psycopg_pool import AsyncConnectionPool

from execflow_catalogue import secrets
from execflow_catalogue.secrets import SecretsKeyring
from execflow_contracts import SecretsUnavailable, StepWork

POOL_SIZE = 2


class StepSecrets:
    def __init__(self, conninfo: str | None = None, keyring: SecretsKeyring | None = None) -> None:
        self._conninfo = conninfo
        self._keyring = keyring
        self._pool: AsyncConnectionPool | None = None
        self._opening = asyncio.Lock()

    async def resolve(self, work: StepWork) -> dict[str, str]:
        """Variable → value for each `{secret: NAME}` of the step's env; SecretNotFound
        or SecretsUnavailable (their messages name secrets, never values)."""
        wanted = work.run.secret_env
        if not wanted:
            return {}
        pool = await self._open()
        async with pool.connection() as conn:
            return await secrets.values(conn, self._keyring, work.namespace, wanted)

    async def _open(self) -> AsyncConnectionPool:
        async with self._opening:
            if self._pool is None:
                if self._conninfo is None:
                    raise SecretsUnavailable(
                        "the step names secrets, but this runner has no database to read"
                        " them from (its EXECFLOW_DATABASE_URL is empty)"
                    )
                pool = AsyncConnectionPool(
                    self._conninfo, min_size=1, max_size=POOL_SIZE, open=False
                )
                await pool.open()
                self._pool = pool
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
