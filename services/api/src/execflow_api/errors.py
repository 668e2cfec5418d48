"""Every error a client sees is a 4xx or 503 with a reason, never a stack trace."""

from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from execflow_contracts import ErrorCode, ExecflowError

STATUS_OF: dict[ErrorCode, int] = {
    ErrorCode.EXECUTION_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.ILLEGAL_TRANSITION: status.HTTP_409_CONFLICT,
    ErrorCode.IDEMPOTENCY_CONFLICT: status.HTTP_409_CONFLICT,
    ErrorCode.INVALID_INPUT: 422,
    ErrorCode.INVALID_WORKFLOW: 422,
    ErrorCode.WORKFLOW_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.SCHEDULE_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.ARTIFACT_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.JOB_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.LEASE_LOST: status.HTTP_409_CONFLICT,
    ErrorCode.ARTIFACT_TOO_LARGE: 413,
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
    return JSONResponse(
        {"error": exc.code.value, "reason": str(exc)},
        status_code=STATUS_OF.get(exc.code, status.HTTP_400_BAD_REQUEST),
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(ExecflowError, execflow_error)
