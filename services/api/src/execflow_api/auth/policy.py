"""Which role each route needs: one table, read by the guard on every request.

By default a read (GET, HEAD) needs `reader` and anything else `operator`; the routes
below need more, or another kind of key. Open routes (health, docs, the dashboard's
files) are not behind the guard at all (see `wiring`)."""

from execflow_contracts import Role

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EVERY = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})

# (path prefix, methods, role): the first that matches decides.
RULES: tuple[tuple[str, frozenset[str], Role], ...] = (
    ("/api/v1/keys", EVERY, Role.ADMIN),
    # Secrets: an admin sets and deletes them; an operator, who runs the workflows that
    # name them, may list their names (never their values: no route shows one). A
    # rotation (a POST) also asks that the admin be of `default` (the route checks).
    ("/api/v1/secrets", WRITES, Role.ADMIN),
    ("/api/v1/secrets", EVERY, Role.OPERATOR),
    ("/api/v1/holds", EVERY, Role.ADMIN),
    ("/api/v1/namespaces", EVERY, Role.ADMIN),
    ("/api/v1/queues", WRITES, Role.ADMIN),
    ("/api/v1/environments", WRITES, Role.ADMIN),
    ("/api/v1/sandboxes", WRITES, Role.ADMIN),
    ("/api/v1/platform/settings", WRITES, Role.ADMIN),
    ("/metrics", EVERY, Role.ADMIN),
    ("/api/v1/agent-control", EVERY, Role.AGENT),
    ("/agent-control", EVERY, Role.AGENT),
)
# Routes that answer server-sent events, where a browser's EventSource cannot send a
# header: only these take the key as `?token=`.
STREAMS = (
    "/api/v1/board/stream",
    "/api/v1/engine/overview/stream",
)
STREAM_SUFFIXES = ("/events", "/logs")

# What each role may also do: admin ⊃ operator ⊃ reader; an agent token only claims.
GRANTS: dict[Role, frozenset[Role]] = {
    Role.READER: frozenset({Role.READER}),
    Role.OPERATOR: frozenset({Role.READER, Role.OPERATOR}),
    Role.ADMIN: frozenset({Role.READER, Role.OPERATOR, Role.ADMIN, Role.AGENT}),
    Role.AGENT: frozenset({Role.AGENT}),
}


def required_role(method: str, path: str) -> Role:
    if path.startswith("/api/v1/executions/") and path.endswith("/hold"):
        return Role.ADMIN  # a legal hold, or its release
    for prefix, methods, role in RULES:
        if method in methods and (path == prefix or path.startswith(prefix + "/")):
            return role
    return Role.READER if method in ("GET", "HEAD") else Role.OPERATOR


def may(role: Role, required: Role) -> bool:
    return required in GRANTS[role]


def takes_token_in_query(method: str, path: str) -> bool:
    """An SSE route, where `?token=` stands for the header."""
    if method != "GET":
        return False
    return path in STREAMS or (
        path.startswith("/api/v1/executions/") and path.endswith(STREAM_SUFFIXES)
    )
