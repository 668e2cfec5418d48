"""The HTTP client of the execflow API, as the CLI (and later scripts) use it."""

from collections.abc import Iterator
from typing import Any

import httpx
import stamina

from .sse import EventSource, ServerEvent

DEFAULT_API_URL = "http://127.0.0.1:8080"
API = "/api/v1"
RECONNECTS = 5


class _Resume(Exception):
    """A stream that delivered events dropped: reconnect with a fresh run of attempts."""


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


class Client:
    def __init__(self, base_url: str = DEFAULT_API_URL, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    # -- executions --------------------------------------------------------

    def list_executions(self, params: list[tuple[str, str]]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"{API}/executions", params=params)
        return result

    def get_execution(self, execution_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"{API}/executions/{execution_id}")
        return result

    def create_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"{API}/executions", json=body)
        return result

    def command(self, execution_id: str, name: str, body: Any = None) -> Any:
        """`cancel`, `retry`, `resume`: a POST to the execution's command endpoint."""
        return self._call("POST", f"{API}/executions/{execution_id}/{name}", json=body)

    def log_page(self, execution_id: str, params: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "GET", f"{API}/executions/{execution_id}/logs", params=params
        )
        return result

    def workers(self) -> list[dict[str, Any]] | None:
        """The registered workers, or None while the API has no worker registry."""
        try:
            result = self._call("GET", f"{API}/workers")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        items: list[dict[str, Any]] = result["items"] if isinstance(result, dict) else result
        return items

    def register_workflow(self, content: bytes, content_type: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", f"{API}/workflows", content=content, headers={"content-type": content_type}
        )
        return result

    def workflows(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"{API}/workflows")["items"]
        return result

    def workflow(self, workflow_id: str, version: int | None = None) -> dict[str, Any]:
        params = {"version": version} if version is not None else {}
        result: dict[str, Any] = self._call("GET", f"{API}/workflows/{workflow_id}", params=params)
        return result

    def metrics(self, params: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"{API}/metrics", params=params)
        return result

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

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiUnavailable(self.base_url, exc) from None
        if response.status_code >= 400:
            raise ApiError(response.status_code, reason_of(response))
        return response.json()


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
