"""What each request of the API clients asks and what its answer is, shared by `Client`
and `AsyncClient`: the path, the view the answer is read into, the errors, and whether
the request may be sent again.

A request may be sent again when sending it twice does what sending it once does: a
read, or a create with an `Idempotency-Key` (the clients give every create one, so a
create whose answer was lost is retried into the same execution). Those are retried on
transport errors and on 502/503/504, with backoff and jitter; any other request only
when the connection could not even be made (nothing was sent).
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from execflow_contracts import (
    EVENT_TYPES,
    CommandAccepted,
    ExecutionAccepted,
    ExecutionEvent,
    ExecutionPage,
    ExecutionView,
    LogLineView,
)

V = TypeVar("V", bound=BaseModel)

API = "/api/v1"
RETRIED_STATUSES = (502, 503, 504)
ATTEMPTS = 5
RETRY_TIMEOUT_S = 30.0


class ClientError(Exception):
    """Anything that keeps a request from getting its answer; the message says what."""


class ApiUnavailable(ClientError):
    def __init__(self, url: str, exc: Exception) -> None:
        super().__init__(f"cannot reach the execflow API at {url} ({type(exc).__name__})")


class ApiError(ClientError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"the API answered {status}: {reason}")
        self.status = status
        self.reason = reason


class UnexpectedAnswer(ClientError):
    """An answer this client cannot read (an API of another version that changed it)."""

    def __init__(self, method: str, path: str, exc: ValidationError) -> None:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'the body'}: {e['msg']}" for e in exc.errors()[:3]
        )
        super().__init__(f"the API's answer to {method} {path} is not as expected: {problems}")


@dataclass(frozen=True)
class Call(Generic[V]):
    view: type[V]
    method: str
    path: str
    params: Any = None
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def safe(self) -> bool:
        """Sending it twice does what sending it once does."""
        return self.method == "GET" or "Idempotency-Key" in self.headers

    def request(self) -> dict[str, Any]:
        """httpx's `request` arguments."""
        found = {"params": self.params, "json": self.json, "content": self.content}
        given = {name: value for name, value in found.items() if value is not None}
        return {"method": self.method, "url": self.path, "headers": self.headers, **given}

    def answer(self, response: httpx.Response) -> V:
        if response.status_code >= 400:
            raise ApiError(response.status_code, reason_of(response))
        try:
            return self.view.model_validate_json(response.content)
        except ValidationError as exc:
            raise UnexpectedAnswer(self.method, self.path, exc) from None

    def worth_again(self, exc: Exception) -> bool:
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return True  # never sent
        if not self.safe:
            return False
        if isinstance(exc, ApiError):
            return exc.status in RETRIED_STATUSES
        return isinstance(exc, httpx.TransportError)


# -- the calls -------------------------------------------------------------------------


def get_execution(execution_id: str) -> Call[ExecutionView]:
    return Call(ExecutionView, "GET", f"{API}/executions/{execution_id}")


def list_executions(params: Iterable[tuple[str, str]]) -> Call[ExecutionPage]:
    return Call(ExecutionPage, "GET", f"{API}/executions", params=tuple(params))


def create_execution(
    body: dict[str, Any] | BaseModel, idempotency_key: str | None
) -> Call[ExecutionAccepted]:
    return Call(
        ExecutionAccepted,
        "POST",
        f"{API}/executions",
        json=_json(body),
        headers=_idempotent(idempotency_key),
    )


def execute_function(
    name: str, body: dict[str, Any] | BaseModel, idempotency_key: str | None
) -> Call[ExecutionAccepted]:
    """`{"arguments": {...}, "queue"?, ...}`: one step calling function `name` (or the
    workflow registered under that name)."""
    return Call(
        ExecutionAccepted,
        "POST",
        f"{API}/functions/{name}/execute",
        json=_json(body),
        headers=_idempotent(idempotency_key),
    )


def command(execution_id: str, name: str, body: Any = None) -> Call[CommandAccepted]:
    """`cancel`, `retry`, `resume`: a POST to the execution's command endpoint."""
    path = f"{API}/executions/{execution_id}/{name}"
    return Call(CommandAccepted, "POST", path, json=_json(body) if body is not None else None)


# -- streams ---------------------------------------------------------------------------


def events_path(execution_id: str) -> str:
    return f"{API}/executions/{execution_id}/events"


def logs_path(execution_id: str) -> str:
    return f"{API}/executions/{execution_id}/logs"


def execution_event(name: str, data: str) -> ExecutionView | ExecutionEvent | None:
    """An event of an execution's stream: the `snapshot` first, then its events (None for
    a kind this client does not know)."""
    if name == "snapshot":
        return ExecutionView.model_validate_json(data)
    event_class = EVENT_TYPES.get(name)
    return event_class.model_validate_json(data) if event_class is not None else None


def log_line(name: str, data: str) -> LogLineView | None:
    return LogLineView.model_validate_json(data) if name == "line" else None


def stream_headers(last_id: str | None) -> dict[str, str]:
    headers = {"Accept": "text/event-stream"}
    if last_id is not None:
        headers["Last-Event-ID"] = last_id
    return headers


# -- plumbing --------------------------------------------------------------------------


def reason_of(response: httpx.Response) -> str:
    """The API's own words: `reason`, or FastAPI's `detail`, or the status phrase."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    if isinstance(body, dict):
        reason = body.get("reason") or body.get("detail")
        if isinstance(reason, list):  # FastAPI's validation errors
            return "; ".join(str(e.get("msg", e)) for e in reason if isinstance(e, dict))
        if reason:
            return str(reason)
    return response.reason_phrase


def _json(body: Any) -> Any:
    return body.model_dump(mode="json", by_alias=True) if isinstance(body, BaseModel) else body


def _idempotent(key: str | None) -> dict[str, str]:
    """Every create has a key: the same execution however often it is sent."""
    return {"Idempotency-Key": key or uuid.uuid4().hex}
