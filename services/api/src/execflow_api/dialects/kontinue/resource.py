"""kontinue's Execution resource on execflow, as a Kubernetes API server serves it:
create (with `generateName`), get, list (with `continue` pages and label selectors),
watch, the status subresource, and kubectl's table output. Errors are `Status` objects.

Executions are execflow's: created as runs of the registered workflow the `function`
names (whether a name is taken, the scheduler says: it alone writes executions), read
from the read models, once a create has reached them. Their status belongs to execflow,
so writes to it are refused, and there is no delete (an execution is kept until its `ttl`).
"""

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ParamSpec
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from execflow_catalogue import catalog
from execflow_contracts import (
    CreateExecution,
    ExecflowError,
    ExecutionNotFound,
    IdempotencyConflict,
    InvalidInput,
    WorkflowNotFound,
)

from ...commands import send_and_wait
from ...errors import STATUS_OF
from ...live import until_known
from ...state import Deps, Services
from . import store, tables
from .models import (
    API_VERSION,
    GROUP,
    KIND,
    PLURAL,
    VERSION,
    KontinueExecution,
    KontinueExecutionList,
    KontinueExecutionResource,
    status_object,
)
from .translate import (
    NAMESPACE_KEY,
    execution_id,
    generated,
    metadata_of,
    resource,
    with_policies,
)

router = APIRouter(prefix=f"/apis/{GROUP}/{VERSION}", tags=["dialect: kontinue"])
P = ParamSpec("P")
NAMESPACED = "/namespaces/{namespace}/executions"
WATCH_FALLBACK_S = 1.0
# A watch reads again what changed this long before its last read: a row's projection
# time is taken before its transaction commits, so a slower commit may carry an earlier one.
WATCH_OVERLAP = timedelta(seconds=2)
MAX_LIMIT = 500
# How long a create waits for the scheduler's verdict: an API server answers a create
# when its storage has decided, and waits for a slow one (up to its 60 s request timeout)
# rather than fail a create that would succeed. Then for the read model to have what it
# made (milliseconds, usually).
VERDICT_WITHIN_S = 20.0
READABLE_WITHIN_S = 5.0


class KubernetesError(Exception):
    def __init__(self, code: int, reason: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.body = status_object(code, reason, message, **details)


REASONS = {404: "NotFound", 409: "Conflict", 422: "Invalid", 413: "RequestEntityTooLarge"}


def kubernetes_errors(
    route: Callable[P, Awaitable[Response]],
) -> Callable[P, Awaitable[Response]]:
    """Every refusal as the Kubernetes API makes it: a `Status` with its code and reason."""

    @functools.wraps(route)
    async def answer(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return await route(*args, **kwargs)
        except KubernetesError as exc:
            return JSONResponse(exc.body, status_code=exc.body["code"])
        except ExecflowError as exc:
            code = STATUS_OF.get(exc.code, 400)
            body = status_object(code, REASONS.get(code, "BadRequest"), str(exc))
            return JSONResponse(body, status_code=code)

    return answer


def not_found(name: str) -> KubernetesError:
    return KubernetesError(404, "NotFound", f'{PLURAL}.{GROUP} "{name}" not found', name=name)


def invalid(name: str, causes: list[tuple[str, str]]) -> KubernetesError:
    """422 Invalid with each field's cause, as kubectl prints them."""
    listed = "; ".join(f"{field}: {message}" for field, message in causes)
    return KubernetesError(
        422,
        "Invalid",
        f'{KIND}.{GROUP} "{name}" is invalid: {listed}',
        name=name,
        kind=KIND,
        causes=[
            {"reason": "FieldValueInvalid", "message": message, "field": field}
            for field, message in causes
        ],
    )


def label_selector(raw: str | None) -> dict[str, str]:
    """Equality selectors (`a=b,c==d`); anything else is a 400 saying so."""
    if not raw:
        return {}
    found: dict[str, str] = {}
    for term in raw.split(","):
        key, sep, value = term.replace("==", "=").partition("=")
        if not sep or "!" in key or not key.strip():
            raise KubernetesError(
                400, "BadRequest", f"unable to parse requirement {term!r}: only k=v is served"
            )
        found[key.strip()] = value.strip()
    return found


async def read(svc: Services, namespace: str, name: str) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        row = await store.one(
            conn, execution_id(namespace, name, svc.caller.namespace), svc.caller.namespace
        )
    if row is None or row["metadata"].get(NAMESPACE_KEY) != namespace:
        raise not_found(name)
    return (await resources(svc, [row]))[0]


async def resources(svc: Services, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources of `rows`, with their phase and attempts (two reads for them all)."""
    ids = [row["id"] for row in rows]
    async with svc.pool.connection() as conn:
        waiting = await store.waiting_on_children(conn, ids)
        moves = await store.transitions_of(conn, ids)
    return [resource(row, row["id"] in waiting, moves.get(row["id"], [])) for row in rows]


def manifest(raw: bytes) -> KontinueExecution:
    """The manifest, strictly: an unknown field is refused, as kubectl asks."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise KubernetesError(400, "BadRequest", f"the body is not JSON: {exc}") from None
    try:
        return KontinueExecution.model_validate(data)
    except ValidationError as exc:
        meta = data.get("metadata") if isinstance(data, dict) else None
        name = (
            str(meta.get("name") or meta.get("generateName") or "")
            if isinstance(meta, dict)
            else ""
        )
        causes = [(".".join(str(p) for p in error["loc"]), error["msg"]) for error in exc.errors()]
        raise invalid(name, causes) from None


@router.post(NAMESPACED, status_code=201, response_model=None)
@kubernetes_errors
async def create(namespace: str, request: Request, svc: Deps) -> Response:
    """`kubectl create -f execution.yaml`: runs the registered workflow `spec.function`
    with `spec.arguments`, its retry, timeout and ttl applied to the whole run. Checked
    as the API server checks: the manifest, then whether its name is taken."""
    given = manifest(await request.body())
    meta = given.metadata
    if meta.namespace and meta.namespace != namespace:
        message = f"the namespace of the object ({meta.namespace}) does not match {namespace}"
        raise KubernetesError(400, "BadRequest", message)
    if meta.name is None and not meta.generate_name:
        raise invalid("", [("metadata.name", "Required value: name or generateName is required")])
    name = meta.name or generated(meta.generate_name or "")
    new_id = execution_id(namespace, name, svc.caller.namespace)
    async with svc.pool.connection() as conn:
        try:
            registered = await catalog.get(conn, svc.caller.namespace, given.spec.function)
        except WorkflowNotFound:
            message = f"Not found: no function {given.spec.function!r} is registered"
            raise invalid(name, [("spec.function", message)]) from None
    try:
        command = registered.execution(
            new_id,
            given.spec.arguments,
            metadata_of(meta, name, namespace, given.spec),
            None,
            actor="kontinue",
        )
    except InvalidInput as exc:
        raise invalid(name, [("spec.arguments", str(exc))]) from None
    try:
        workflow = with_policies(command.spec, given.spec)
    except ValidationError as exc:
        raise invalid(name, [("spec", str(exc))]) from None
    await store_new(svc, name, command.model_copy(update={"workflow": workflow}))
    created = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace, "uid": str(new_id)}
        | ({"generateName": meta.generate_name} if meta.generate_name else {})
        | ({"labels": meta.labels} if meta.labels else {}),
        "spec": given.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
        "status": {"phase": "Pending"},
    }
    return JSONResponse(created, status_code=201)


async def store_new(svc: Services, name: str, command: CreateExecution) -> None:
    """Create the execution of `name`, answering as the API server's storage would.

    Whether the name is taken is the scheduler's to say, not the read model's: the read
    model lags, and a second create of a name it did not show yet went on the bus under
    the first one's `Nats-Msg-Id`, was dropped as a duplicate, and was answered 201. Each
    request has an id of its own, so it reaches the scheduler, and that id as its
    request hash: the scheduler accepts it again only re-delivered, and refuses any other
    create of the name (IdempotencyConflict), which is Kubernetes' AlreadyExists."""
    request = uuid4().hex
    try:
        outcome = await send_and_wait(
            svc,
            command.model_copy(update={"request_id": request, "request_hash": request}),
            VERDICT_WITHIN_S,
        )
    except IdempotencyConflict:
        raise already_exists(name) from None
    if outcome is None:  # stored, and applied later: whether it makes `name` is not known
        raise KubernetesError(
            504,
            "Timeout",
            f"the server could not tell in time whether {PLURAL}.{GROUP} {name!r} was"
            " created; it may still be",
            name=name,
        )
    # A Kubernetes client reads what it has just created (the API server reads its
    # writes): answer once the read model has it too. If it lags longer, the create
    # still stands; reads show it as soon as they can.
    with contextlib.suppress(ExecutionNotFound):
        await until_known(svc, command.execution_id, READABLE_WITHIN_S)


def already_exists(name: str) -> KubernetesError:
    return KubernetesError(
        409, "AlreadyExists", f'{PLURAL}.{GROUP} "{name}" already exists', name=name
    )


ONE: dict[int | str, dict[str, Any]] = {
    200: {
        "model": KontinueExecutionResource,
        "description": "The Execution (or a Table, as kubectl asks)",
    }
}
MANY: dict[int | str, dict[str, Any]] = {
    200: {
        "model": KontinueExecutionList,
        "description": "An ExecutionList, a Table, or watch lines",
    }
}


@router.get(NAMESPACED + "/{name}", response_model=None, responses=ONE)
@kubernetes_errors
async def get(
    namespace: str,
    name: str,
    svc: Deps,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    found = await read(svc, namespace, name)
    if tables.wanted(accept):
        return JSONResponse(tables.table([found]))
    return JSONResponse(found)


@router.get(NAMESPACED + "/{name}/status", response_model=None, responses=ONE)
@kubernetes_errors
async def get_status(namespace: str, name: str, svc: Deps) -> Response:
    """The status subresource: the resource, whose status execflow keeps."""
    return JSONResponse(await read(svc, namespace, name))


@router.put(NAMESPACED + "/{name}/status", response_model=None)
@router.patch(NAMESPACED + "/{name}/status", response_model=None)
@kubernetes_errors
async def write_status(namespace: str, name: str) -> Response:
    raise KubernetesError(
        405, "MethodNotAllowed", f"the status of {name} is execflow's: it moves with the run"
    )


@router.put(NAMESPACED + "/{name}", response_model=None)
@router.patch(NAMESPACED + "/{name}", response_model=None)
@kubernetes_errors
async def change(namespace: str, name: str) -> Response:
    raise KubernetesError(
        405, "MethodNotAllowed", f"execution {name} is not changed after it is made"
    )


@router.delete(NAMESPACED + "/{name}", response_model=None)
@kubernetes_errors
async def delete(namespace: str, name: str) -> Response:
    raise KubernetesError(
        405,
        "MethodNotAllowed",
        f"execflow keeps execution {name} until its spec.ttl.deleteAfter; cancel it with"
        " `execflow execution cancel`",
    )


@dataclass(frozen=True)
class ListQuery:
    """A list's (or watch's) parameters, as kubectl sends them; parsed in `listing`, so
    that what it cannot use is a `Status` too."""

    accept: str | None
    labels: str | None
    field: str | None
    limit: int
    cont: str | None
    watch: bool
    version: str | None


def list_query(
    accept: Annotated[str | None, Header()] = None,
    label_selector_: Annotated[str | None, Query(alias="labelSelector")] = None,
    field_selector: Annotated[str | None, Query(alias="fieldSelector")] = None,
    limit: Annotated[int, Query(ge=0)] = MAX_LIMIT,
    continue_: Annotated[str | None, Query(alias="continue")] = None,
    watch: bool = False,
    resource_version_: Annotated[str | None, Query(alias="resourceVersion")] = None,
) -> ListQuery:
    return ListQuery(
        accept, label_selector_, field_selector, limit, continue_, watch, resource_version_
    )


Listed = Annotated[ListQuery, Depends(list_query)]


async def listing(svc: Services, namespace: str | None, query: ListQuery) -> Response:
    labels = label_selector(query.labels)
    name = named(query.field)
    as_table = tables.wanted(query.accept)
    if query.watch:
        return StreamingResponse(
            watch_events(svc, namespace, labels, name, query.version, as_table),
            media_type="application/json",
        )
    size = min(query.limit or MAX_LIMIT, MAX_LIMIT)
    try:
        async with svc.pool.connection() as conn:
            listed_at = await store.now(conn)  # before reading: a watch from it misses nothing
            rows, more = await store.page(
                conn, svc.caller.namespace, namespace, labels, size, query.cont
            )
    except ValueError as exc:
        raise KubernetesError(410, "Expired", str(exc)) from None
    items = [r for r in await resources(svc, rows) if name is None or r["metadata"]["name"] == name]
    meta = {"resourceVersion": resource_version(listed_at)} | ({"continue": more} if more else {})
    if as_table:
        return JSONResponse(tables.table(items) | {"metadata": meta})
    return JSONResponse(
        {"apiVersion": API_VERSION, "kind": f"{KIND}List", "metadata": meta, "items": items}
    )


def named(field: str | None) -> str | None:
    """`fieldSelector=metadata.name=X`, as kubectl sends for `get NAME --watch`."""
    if not field:
        return None
    key, _, value = field.partition("=")
    if key != "metadata.name":
        raise KubernetesError(400, "BadRequest", f"field selector {field!r} is not served")
    return value.lstrip("=")


@router.get(NAMESPACED, response_model=None, responses=MANY)
@kubernetes_errors
async def list_namespaced(namespace: str, svc: Deps, query: Listed) -> Response:
    """The namespace's executions (`?watch=1`: a stream of their changes)."""
    return await listing(svc, namespace, query)


@router.get("/executions", response_model=None, responses=MANY)
@kubernetes_errors
async def list_all(svc: Deps, query: Listed) -> Response:
    """Every namespace's executions (`?watch=1`: a stream of their changes)."""
    return await listing(svc, None, query)


async def watch_events(
    svc: Services,
    namespace: str | None,
    labels: dict[str, str],
    name: str | None,
    version: str | None,
    as_table: bool,
) -> AsyncIterator[bytes]:
    """JSON lines until the client goes: `ADDED` for what is there (unless the client
    listed it already: it gives that list's `resourceVersion`), then `ADDED` or `MODIFIED`
    as executions come and change. Reads again on the projector's notices when watching
    one named execution, else every second."""
    one = execution_id(namespace, name, svc.caller.namespace) if name and namespace else None
    seen: dict[UUID, int] = {}
    with contextlib.ExitStack() as stack:
        watch = stack.enter_context(svc.changes.watch(one)) if one else None  # before reading
        async with svc.pool.connection() as conn:
            now = await store.now(conn)
            rows, _ = await store.page(
                conn, svc.caller.namespace, namespace, labels, MAX_LIMIT, None
            )
        listed = list_time(version)
        since = listed or now
        if listed is None:
            for event in await events(svc, rows, seen, name, since, as_table):
                yield event
        else:  # what has not changed since the client's list, the client has
            seen |= {r["id"]: r["version"] for r in rows if r["projected_at"] <= listed}
        while True:
            if watch is not None:
                await watch.next_change()
            else:
                await asyncio.sleep(WATCH_FALLBACK_S)
            async with svc.pool.connection() as conn:
                read_at = await store.now(conn)
                changed = await store.changed_since(
                    conn, svc.caller.namespace, namespace, labels, since - WATCH_OVERLAP
                )
            fresh = [r for r in changed if seen.get(r["id"], 0) < r["version"]]
            for event in await events(svc, fresh, seen, name, since, as_table):
                yield event
            since = read_at


def list_time(version: str | None) -> datetime | None:
    """The moment a list's `resourceVersion` stands for (see `listing`); None for none."""
    if not version or version == "0":
        return None
    try:
        return datetime.fromtimestamp(int(version) / 1_000_000, UTC)
    except ValueError:
        raise KubernetesError(400, "BadRequest", f"invalid resourceVersion {version!r}") from None


def resource_version(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1_000_000))


async def events(
    svc: Services,
    rows: list[dict[str, Any]],
    seen: dict[UUID, int],
    name: str | None,
    origin: datetime,
    as_table: bool,
) -> list[bytes]:
    """Watch events for `rows`: MODIFIED for one seen or made before the watch's origin,
    else ADDED."""
    found = []
    created = {row["id"]: row["created_at"] for row in rows}
    for item in await resources(svc, rows):
        if name is not None and item["metadata"]["name"] != name:
            continue
        uid = UUID(item["metadata"]["uid"])
        kind = "MODIFIED" if uid in seen or created[uid] < origin else "ADDED"
        seen[uid] = int(item["metadata"]["resourceVersion"])
        found.append(watch_line(kind, tables.table([item]) if as_table else item))
    return found


def watch_line(kind: str, item: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": item}).encode() + b"\n"
