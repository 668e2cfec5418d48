"""The asyncio client of the execflow API, for services: the same requests, answers
(the contracts' views), retries and idempotency as `Client` (see `calls`).

    async with AsyncClient("http://execflow:8080") as api:
        accepted = await api.execute_function("resize-image", {"arguments": {"w": 64}})
        done = await api.wait(str(accepted.id))
"""

import asyncio
import random
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import httpx
import stamina
from httpx_sse import aconnect_sse
from pydantic import BaseModel

from execflow_contracts import (
    CancelRequest,
    CommandAccepted,
    EngineOverview,
    ExecutionAccepted,
    ExecutionEvent,
    ExecutionPage,
    ExecutionRequest,
    ExecutionView,
    FunctionCall,
    LogLineView,
    ResumeRequest,
    RetryRequest,
)

from . import calls
from .calls import ATTEMPTS, RETRY_TIMEOUT_S, ApiError, ApiUnavailable, Call, reason_of
from .credentials import bearer, key_for

V = TypeVar("V", bound=BaseModel)
# A stream that drops is resumed after its last event; this many failures in a row give up.
RECONNECTS = 5


class AsyncClient:
    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8080",
        timeout_s: float = 10.0,
        limits: httpx.Limits | None = None,
        api_key: str | None = None,
    ) -> None:
        """`limits`: httpx's connection pool (default: up to 100 connections, 20 kept).
        `api_key`: sent as `Authorization: Bearer`; None: EXECFLOW_API_KEY, or the one
        saved for this URL (see `credentials`), if any."""
        self.base_url = base_url.rstrip("/")
        self.api_key = key_for(self.base_url, api_key)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout_s,
            limits=limits or httpx.Limits(),
            headers=bearer(self.api_key),
        )

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def list_executions(self, params: list[tuple[str, str]]) -> ExecutionPage:
        return await self._send(calls.list_executions(params))

    async def get_execution(self, execution_id: str) -> ExecutionView:
        return await self._send(calls.get_execution(execution_id))

    async def create_execution(
        self, body: dict[str, Any] | ExecutionRequest, idempotency_key: str | None = None
    ) -> ExecutionAccepted:
        """Sent with an `Idempotency-Key` (one of its own unless given): retried after a
        lost answer, it is still one execution."""
        return await self._send(calls.create_execution(body, idempotency_key))

    async def execute_function(
        self, name: str, body: dict[str, Any] | FunctionCall, idempotency_key: str | None = None
    ) -> ExecutionAccepted:
        """One step calling function `name` (or the workflow registered as `name`)."""
        return await self._send(calls.execute_function(name, body, idempotency_key))

    async def command(self, execution_id: str, name: str, body: Any = None) -> CommandAccepted:
        return await self._send(calls.command(execution_id, name, body))

    async def cancel(self, execution_id: str, reason: str = "") -> CommandAccepted:
        return await self.command(execution_id, "cancel", CancelRequest(reason=reason))

    async def retry(self, execution_id: str, from_step: str | None = None) -> CommandAccepted:
        return await self.command(execution_id, "retry", RetryRequest(from_step=from_step))

    async def resume(
        self, execution_id: str, value: Any, step_id: str | None = None
    ) -> CommandAccepted:
        answer = ResumeRequest(input=value, step_id=step_id)
        return await self.command(execution_id, "resume", answer)

    async def watch(
        self, execution_id: str, wait_s: float = 10.0
    ) -> AsyncIterator[ExecutionView | ExecutionEvent]:
        """The execution as it is (an ExecutionView), then its events as they happen, to
        its end; `wait_s` for one just created to reach the read models."""
        path = calls.events_path(execution_id)
        async for name, data in self._stream(path, {"wait": wait_s}):
            found = calls.execution_event(name, data)
            if found is not None:
                yield found

    async def wait(self, execution_id: str, wait_s: float = 10.0) -> ExecutionView:
        """Follow the execution to its end; the execution then."""
        async for _ in self.watch(execution_id, wait_s):
            pass
        return await self.get_execution(execution_id)

    async def logs(
        self, execution_id: str, step_id: str | None = None
    ) -> AsyncIterator[LogLineView]:
        """Its log lines, following them until the execution is over and all are in."""
        params = {"follow": "true"} | ({"step": step_id} if step_id else {})
        async for name, data in self._stream(calls.logs_path(execution_id), params):
            line = calls.log_line(name, data)
            if line is not None:
                yield line

    async def overview(self) -> EngineOverview:
        """The engine now: executions per status, what runs, queues, workers."""
        return await self._send(Call(EngineOverview, "GET", f"{calls.API}/engine/overview"))

    async def _send(self, call: Call[V]) -> V:
        try:
            async for attempt in stamina.retry_context(
                on=call.worth_again, attempts=ATTEMPTS, timeout=RETRY_TIMEOUT_S
            ):
                with attempt:
                    return call.answer(await self._http.request(**call.request()))
        except httpx.TransportError as exc:
            raise ApiUnavailable(self.base_url, exc) from None
        raise AssertionError("unreachable")

    async def _stream(self, path: str, params: dict[str, Any]) -> AsyncIterator[tuple[str, str]]:
        """(event, data) of an SSE stream to its end, resumed after the last event seen
        (`Last-Event-ID`) when the connection drops."""
        last_id: str | None = None
        failures = 0
        while True:
            try:
                async with aconnect_sse(
                    self._http,
                    "GET",
                    path,
                    params=params,
                    headers=calls.stream_headers(last_id),
                    timeout=None,
                ) as source:
                    response = source.response
                    if response.status_code >= 400:
                        await response.aread()
                        raise ApiError(response.status_code, reason_of(response))
                    async for event in source.aiter_sse():
                        failures = 0
                        last_id = event.id or last_id
                        yield event.event, event.data
                return
            except httpx.TransportError as exc:
                failures += 1
                if failures > RECONNECTS:
                    raise ApiUnavailable(self.base_url, exc) from None
                await asyncio.sleep(min(0.2 * 2**failures, 5.0) * random.uniform(0.5, 1.0))
