"""The guard every route but the open ones stands behind (a FastAPI dependency): who
calls (the key, from `Authorization: Bearer`, or `?token=` on streams), and whether
their role may. A missing or bad key is a 401 with the reason, a small role a 403.

Keys are argon2 hashes, slow to check by design (some 50 ms of a core): a key once
confirmed is remembered for `cache_s`, by the SHA-256 of the whole key, so a request pays
a dictionary lookup. A key revoked through this API is forgotten at once; another API
process forgets it within `cache_s`."""

import asyncio
import hashlib
import time
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import AsyncConnectionPool

from execflow_contracts import Forbidden, Unauthenticated

from .caller import ANYONE, Caller
from .policy import may, required_role, takes_token_in_query
from .store import find_key
from .tokens import parse_token, verify_secret

CACHE_LIMIT = 10_000
# Declares the scheme in the OpenAPI document (clients and /docs send the key with it);
# the guard reads the header itself, to say what is wrong with a bad one.
BEARER = HTTPBearer(auto_error=False, description="an execflow API key (efk_…)")


class Authenticator:
    def __init__(self, pool: AsyncConnectionPool, enabled: bool, cache_s: float = 30.0) -> None:
        self.enabled = enabled
        self._pool = pool
        self._cache_s = cache_s
        self._known: dict[bytes, tuple[Caller, float]] = {}

    async def caller(self, text: str) -> Caller:
        digest = hashlib.sha256(text.encode()).digest()
        known = self._known.get(digest)
        if known is not None and known[1] > time.monotonic():
            return known[0]
        caller = await self._check(text)
        if len(self._known) >= CACHE_LIMIT:
            self._known.clear()
        self._known[digest] = (caller, time.monotonic() + self._cache_s)
        return caller

    def forget(self, key_id: str) -> None:
        self._known = {d: c for d, c in self._known.items() if c[0].key_id != key_id}

    async def _check(self, text: str) -> Caller:
        token = parse_token(text)
        if token is None:
            raise Unauthenticated("not an execflow API key (they look like efk_…)")
        async with self._pool.connection() as conn:
            stored = await find_key(conn, token.key_id)
        if stored is None:
            raise Unauthenticated(f"no valid API key {token.key_id} (unknown or revoked)")
        if not await asyncio.to_thread(verify_secret, stored.hash, token.secret):
            raise Unauthenticated(f"the secret of API key {token.key_id} is wrong")
        return Caller(stored.namespace, stored.role, stored.key_id, stored.queues)


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("the Authorization header must be `Bearer <API key>`")
        return value.strip()
    if takes_token_in_query(request.method, request.url.path):
        return request.query_params.get("token")
    return None


async def guard(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
) -> Caller:
    authenticator: Authenticator = request.app.state.authenticator
    if not authenticator.enabled:
        caller = ANYONE
    else:
        text = presented_key(request)
        if not text:
            raise Unauthenticated("an API key is needed: send `Authorization: Bearer <key>`")
        caller = await authenticator.caller(text)
    needed = required_role(request.method, request.url.path)
    if not may(caller.role, needed):
        raise Forbidden(
            f"a {caller.role.value} key may not {request.method} {request.url.path}:"
            f" that takes a role of {needed.value}"
        )
    return caller


async def optional_caller(request: Request) -> Caller | None:
    """For the open routes that say more to a key (`/readyz`): the caller, or None."""
    try:
        return await guard(request, None)
    except (Unauthenticated, Forbidden):
        return None


Guarded = Annotated[Caller, Depends(guard)]
