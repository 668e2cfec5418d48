"""Every error a client sees is a 4xx or 503 with a reason, never a stack trace."""

from typing import Any

import psycopg
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import PydanticSerializationError
from starlette.types import ASGIApp, Receive, Scope, Send

from execflow_contracts import ErrorCode, ExecflowError

STATUS_OF: dict[ErrorCode, int] = {
    ErrorCode.EXECUTION_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.ILLEGAL_TRANSITION: status.HTTP_409_CONFLICT,
    ErrorCode.IDEMPOTENCY_CONFLICT: status.HTTP_409_CONFLICT,
    ErrorCode.INVALID_INPUT: 422,
    ErrorCode.INVALID_WORKFLOW: 422,
    ErrorCode.WORKFLOW_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.SCHEDULE_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.SUITE_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.PROFILE_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.ARTIFACT_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.JOB_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.LEASE_LOST: status.HTTP_409_CONFLICT,
    ErrorCode.ARTIFACT_TOO_LARGE: 413,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.UNAPPLICABLE_COMMAND: status.HTTP_500_INTERNAL_SERVER_ERROR,
    ErrorCode.UNAUTHENTICATED: status.HTTP_401_UNAUTHORIZED,
    ErrorCode.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    ErrorCode.SECRET_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    # No key configured: the deployment cannot do it as it stands (not a server fault).
    ErrorCode.SECRETS_UNAVAILABLE: status.HTTP_409_CONFLICT,
}


def _where(error: dict[str, Any]) -> str:
    return ".".join(str(part) for part in error.get("loc", ()) if part != "body")


def _reason(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{_where(e)}: {e['msg']}" if _where(e) else str(e["msg"]) for e in errors)


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
    malformed = any(e["type"] == "json_invalid" for e in errors)
    return JSONResponse(
        {
            "error": "malformed_json" if malformed else "invalid_request",
            "reason": _reason(errors),
            "detail": errors,
        },
        status_code=status.HTTP_400_BAD_REQUEST if malformed else 422,
    )


async def execflow_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ExecflowError)
    unauthenticated = exc.code is ErrorCode.UNAUTHENTICATED
    return JSONResponse(
        {"error": exc.code.value, "reason": str(exc)},
        status_code=STATUS_OF.get(exc.code, status.HTTP_400_BAD_REQUEST),
        headers={"WWW-Authenticate": "Bearer"} if unauthenticated else None,
    )


async def unstorable(_: Request, exc: Exception) -> JSONResponse:
    """A value the database refuses (a NUL character, a number beyond its range): every
    value we make ourselves fits, so it is the client's. Its transaction rolled back."""
    assert isinstance(exc, psycopg.DataError)
    reason = exc.diag.message_primary or str(exc)
    if exc.diag.message_detail:
        reason = f"{reason} ({exc.diag.message_detail})"
    return JSONResponse(
        {"error": "invalid_request", "reason": f"a value the database cannot store: {reason}"},
        status_code=status.HTTP_400_BAD_REQUEST,
    )


async def not_unicode(_: Request, exc: Exception) -> JSONResponse:
    """A string holding half of a UTF-16 pair ("\\ud800" alone) is not Unicode text and
    cannot be encoded. Only a client's JSON brings one (the bus's parser and the
    database refuse them), and it fails before anything is sent or written."""
    if "surrogates not allowed" not in str(exc):
        raise exc  # ours: the server error it is
    return JSONResponse(
        {
            "error": "invalid_request",
            "reason": "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff), not text",
        },
        status_code=status.HTTP_400_BAD_REQUEST,
    )


class RefuseNulInUrls:
    """A URL with a NUL character (%00) is refused before any route reads it: no column
    can hold one, and an export would have begun its answer before its query failed."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (b"%00" in scope["query_string"] or "\x00" in scope["path"]):
            refusal = JSONResponse(
                {"error": "invalid_request", "reason": "the URL holds a NUL character (%00)"},
                status_code=status.HTTP_400_BAD_REQUEST,
            )
            await refusal(scope, receive, send)
            return
        await self._app(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(ExecflowError, execflow_error)
    app.add_exception_handler(psycopg.DataError, unstorable)
    app.add_exception_handler(PydanticSerializationError, not_unicode)
    app.add_middleware(RefuseNulInUrls)
