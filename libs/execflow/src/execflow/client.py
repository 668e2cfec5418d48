"""The HTTP client of the execflow API, as the CLI and a user's scripts use it: answers
are the contracts' views (`execflow_contracts.views`), which keep fields this client does
not know yet; `dump` gives back the JSON they were read from. Retries and idempotency:
see `calls` (which `AsyncClient` shares)."""

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import httpx
import stamina
from pydantic import BaseModel

from execflow_contracts import (
    ArtifactList,
    ArtifactView,
    Board,
    CancelRequest,
    CommandAccepted,
    EngineOverview,
    ExecutionAccepted,
    ExecutionEvent,
    ExecutionPage,
    ExecutionRequest,
    ExecutionView,
    FunctionCall,
    HistoryEvent,
    HistoryList,
    KeyCreated,
    KeyList,
    KeyView,
    LogLineView,
    LogPage,
    MetricsReport,
    NamespaceList,
    NamespaceView,
    QueueLimitList,
    QueueLimitView,
    ResumeRequest,
    RetryRequest,
    ScheduleList,
    ScheduleView,
    SecretList,
    SecretsRotated,
    SecretView,
    TransitionList,
    TransitionView,
    WhoAmI,
    WorkerInfo,
    WorkerList,
    WorkflowList,
    WorkflowRegistered,
    WorkflowSummary,
    WorkflowView,
)

from . import calls
from .calls import (
    API,
    ATTEMPTS,
    RETRY_TIMEOUT_S,
    ApiError,
    ApiUnavailable,
    Call,
    ClientError,
    UnexpectedAnswer,
    reason_of,
)
from .credentials import bearer, key_for
from .sse import EventSource, ServerEvent

__all__ = ["ApiError", "ApiUnavailable", "Client", "ClientError", "UnexpectedAnswer", "dump"]

DEFAULT_API_URL = "http://127.0.0.1:8080"
RECONNECTS = 5


class _Resume(Exception):
    """A stream that delivered events dropped: reconnect with a fresh run of attempts."""


V = TypeVar("V", bound=BaseModel)


class Client:
    def __init__(
        self, base_url: str = DEFAULT_API_URL, timeout_s: float = 10.0, api_key: str | None = None
    ) -> None:
        """`api_key`: sent as `Authorization: Bearer`; None: EXECFLOW_API_KEY, or the one
        saved for this URL (see `credentials`), if any."""
        self.base_url = base_url.rstrip("/")
        self.api_key = key_for(self.base_url, api_key)
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout_s, headers=bearer(self.api_key)
        )

    def close(self) -> None:
        self._http.close()

    # -- executions --------------------------------------------------------

    def list_executions(self, params: list[tuple[str, str]]) -> ExecutionPage:
        return self._send(calls.list_executions(params))

    def get_execution(self, execution_id: str) -> ExecutionView:
        return self._send(calls.get_execution(execution_id))

    def create_execution(
        self, body: dict[str, Any] | ExecutionRequest, idempotency_key: str | None = None
    ) -> ExecutionAccepted:
        """Sent with an `Idempotency-Key` (one of its own unless given): retried after a
        lost answer, it is still one execution."""
        return self._send(calls.create_execution(body, idempotency_key))

    def execute_function(
        self, name: str, body: dict[str, Any] | FunctionCall, idempotency_key: str | None = None
    ) -> ExecutionAccepted:
        """One step calling function `name` (or the workflow registered as `name`)."""
        return self._send(calls.execute_function(name, body, idempotency_key))

    def command(self, execution_id: str, name: str, body: Any = None) -> CommandAccepted:
        """`cancel`, `retry`, `resume`: a POST to the execution's command endpoint."""
        return self._send(calls.command(execution_id, name, body))

    def cancel(self, execution_id: str, reason: str = "") -> CommandAccepted:
        return self.command(execution_id, "cancel", CancelRequest(reason=reason))

    def retry(self, execution_id: str, from_step: str | None = None) -> CommandAccepted:
        return self.command(execution_id, "retry", RetryRequest(from_step=from_step))

    def resume(self, execution_id: str, value: Any, step_id: str | None = None) -> CommandAccepted:
        """Answer what the execution waits for (`step_id` when several steps wait)."""
        return self.command(execution_id, "resume", ResumeRequest(input=value, step_id=step_id))

    def watch(
        self, execution_id: str, wait_s: float = 10.0
    ) -> Iterator[ExecutionView | ExecutionEvent]:
        """The execution as it is (an ExecutionView), then its events as they happen, to
        its end; `wait_s` for one just created to reach the read models."""
        for event in self.stream(f"/executions/{execution_id}/events", {"wait": wait_s}):
            found = calls.execution_event(event.event, event.data)
            if found is not None:
                yield found

    def wait(self, execution_id: str, wait_s: float = 10.0) -> ExecutionView:
        """Follow the execution to its end; the execution then."""
        for _ in self.watch(execution_id, wait_s):
            pass
        return self.get_execution(execution_id)

    def logs(self, execution_id: str, step_id: str | None = None) -> Iterator[LogLineView]:
        """Its log lines, following them until the execution is over and all are in."""
        params = {"follow": "true"} | ({"step": step_id} if step_id else {})
        for event in self.stream(f"/executions/{execution_id}/logs", params):
            line = calls.log_line(event.event, event.data)
            if line is not None:
                yield line

    def transitions(self, execution_id: str) -> list[TransitionView]:
        path = f"{API}/executions/{execution_id}/transitions"
        return self._read(TransitionList, "GET", path).items

    def history(self, execution_id: str) -> list[HistoryEvent]:
        return self._read(HistoryList, "GET", f"{API}/executions/{execution_id}/history").items

    def log_page(self, execution_id: str, params: dict[str, Any]) -> LogPage:
        path = f"{API}/executions/{execution_id}/logs"
        return self._read(LogPage, "GET", path, params=params)

    def board(self, params: list[tuple[str, str]]) -> Board:
        """The dashboard's board: cards in columns by status (the listing's filters)."""
        return self._read(Board, "GET", f"{API}/board", params=params)

    def artifacts(self, execution_id: str) -> list[ArtifactView]:
        path = f"{API}/executions/{execution_id}/artifacts"
        return self._read(ArtifactList, "GET", path).items

    # -- the engine --------------------------------------------------------

    def overview(self) -> EngineOverview:
        return self._read(EngineOverview, "GET", f"{API}/engine/overview")

    def workers(self) -> list[WorkerInfo]:
        """The live runners and agents, as the worker registry lists them."""
        return self._read(WorkerList, "GET", f"{API}/workers").items

    def metrics(self, params: dict[str, str]) -> MetricsReport:
        return self._read(MetricsReport, "GET", f"{API}/metrics", params=params)

    # -- the catalogue -----------------------------------------------------

    def register_workflow(self, content: bytes, content_type: str) -> WorkflowRegistered:
        headers = {"content-type": content_type}
        return self._read(
            WorkflowRegistered, "POST", f"{API}/workflows", content=content, headers=headers
        )

    def workflows(self) -> list[WorkflowSummary]:
        return self._read(WorkflowList, "GET", f"{API}/workflows").items

    def workflow(self, workflow_id: str, version: int | None = None) -> WorkflowView:
        params = {"version": version} if version is not None else {}
        return self._read(WorkflowView, "GET", f"{API}/workflows/{workflow_id}", params=params)

    def schedules(self, workflow_id: str | None = None) -> list[ScheduleView]:
        params = {"workflow_id": workflow_id} if workflow_id is not None else {}
        return self._read(ScheduleList, "GET", f"{API}/schedules", params=params).items

    def queue_limits(self) -> list[QueueLimitView]:
        return self._read(QueueLimitList, "GET", f"{API}/queues").items

    def create_schedule(self, body: dict[str, Any]) -> ScheduleView:
        return self._read(ScheduleView, "POST", f"{API}/schedules", json=body)

    def switch_schedule(self, schedule_id: str, to: str) -> ScheduleView:
        """`pause` or `resume` a schedule."""
        return self._read(ScheduleView, "POST", f"{API}/schedules/{schedule_id}/{to}")

    def delete_schedule(self, schedule_id: str) -> None:
        self._request("DELETE", f"{API}/schedules/{schedule_id}")

    # -- access ------------------------------------------------------------

    def whoami(self) -> WhoAmI:
        return self._read(WhoAmI, "GET", f"{API}/whoami")

    def create_key(self, body: dict[str, Any]) -> KeyCreated:
        return self._read(KeyCreated, "POST", f"{API}/keys", json=body)

    def keys(self) -> list[KeyView]:
        return self._read(KeyList, "GET", f"{API}/keys").items

    def revoke_key(self, key_id: str) -> None:
        self._request("DELETE", f"{API}/keys/{key_id}")

    def create_namespace(self, body: dict[str, Any]) -> NamespaceView:
        return self._read(NamespaceView, "POST", f"{API}/namespaces", json=body)

    def namespaces(self) -> list[NamespaceView]:
        return self._read(NamespaceList, "GET", f"{API}/namespaces").items

    def set_secret(self, name: str, value: str) -> SecretView:
        """Set or replace the secret of your namespace (an admin key)."""
        return self._read(SecretView, "PUT", f"{API}/secrets/{name}", json={"value": value})

    def secrets(self) -> list[SecretView]:
        """Your namespace's secrets: names and dates, never values."""
        return self._read(SecretList, "GET", f"{API}/secrets").items

    def delete_secret(self, name: str) -> None:
        self._request("DELETE", f"{API}/secrets/{name}")

    def rotate_secrets(self) -> SecretsRotated:
        """Re-seal every namespace's secrets under the API's current key (an admin of
        `default`); a 409 names those no configured key opens, and nothing changes."""
        return self._read(SecretsRotated, "POST", f"{API}/secrets/rotate")

    # -- streams -----------------------------------------------------------

    def lines(self, path: str, params: list[tuple[str, str]]) -> Iterator[str]:
        """A streamed response's lines (JSON lines exports), as they arrive."""
        try:
            with self._http.stream(
                "GET", f"{API}{path}", params=tuple(params), timeout=None
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ApiError(response.status_code, reason_of(response))
                yield from (line for line in response.iter_lines() if line)
        except httpx.TransportError as exc:
            raise ApiUnavailable(self.base_url, exc) from None

    def stream(self, path: str, params: dict[str, Any] | None = None) -> Iterator[ServerEvent]:
        """An SSE stream to its end; a dropped connection is resumed after the last
        event received (`Last-Event-ID`), so nothing is missed or seen twice. Reconnects
        back off with jitter; RECONNECTS failures in a row without an event give up."""
        last_id: str | None = None
        while True:
            try:
                for attempt in stamina.retry_context(
                    on=httpx.TransportError, attempts=RECONNECTS + 1, wait_initial=0.2, timeout=None
                ):
                    with attempt:
                        received = False
                        try:
                            for event in self._events(path, params, last_id):
                                received = True
                                last_id = event.id or last_id
                                yield event
                        except httpx.TransportError:
                            if received:
                                raise _Resume from None  # a new run of attempts
                            raise
                        return
            except _Resume:
                continue
            except httpx.TransportError as exc:
                raise ApiUnavailable(self.base_url, exc) from None

    def _events(
        self, path: str, params: dict[str, Any] | None, last_id: str | None
    ) -> Iterator[ServerEvent]:
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        with self._http.stream(
            "GET", f"{API}{path}", params=params, headers=headers, timeout=None
        ) as response:
            if response.status_code >= 400:
                response.read()
                raise ApiError(response.status_code, reason_of(response))
            yield from EventSource(response).iter_sse()

    # -- plumbing ----------------------------------------------------------

    def _read(self, view: type[V], method: str, path: str, **kwargs: Any) -> V:
        return self._send(Call(view, method, path, **kwargs))

    def _send(self, call: Call[V]) -> V:
        try:
            for attempt in stamina.retry_context(
                on=call.worth_again, attempts=ATTEMPTS, timeout=RETRY_TIMEOUT_S
            ):
                with attempt:
                    return call.answer(self._http.request(**call.request()))
        except httpx.TransportError as exc:
            raise ApiUnavailable(self.base_url, exc) from None
        raise AssertionError("unreachable")

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiUnavailable(self.base_url, exc) from None
        if response.status_code >= 400:
            raise ApiError(response.status_code, reason_of(response))
        return response


def dump(data: BaseModel | Sequence[BaseModel]) -> Any:
    """A view (or a list of them) as the JSON the API sent: the keys it came with, in
    the API's order, unknown ones included."""
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return [dump(item) for item in data]
