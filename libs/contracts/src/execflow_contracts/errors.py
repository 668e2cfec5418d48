"""One error base for execflow, a subclass per condition, each with a stable code."""

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_WORKFLOW = "invalid_workflow"
    EXECUTION_NOT_FOUND = "execution_not_found"
    ILLEGAL_TRANSITION = "illegal_transition"
    MALFORMED_MESSAGE = "malformed_message"
    INVALID_INPUT = "invalid_input"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    WORKFLOW_NOT_FOUND = "workflow_not_found"
    SCHEDULE_NOT_FOUND = "schedule_not_found"
    ARTIFACT_NOT_FOUND = "artifact_not_found"
    JOB_NOT_FOUND = "job_not_found"
    LEASE_LOST = "lease_lost"
    ARTIFACT_TOO_LARGE = "artifact_too_large"
    # A request body (or what its YAML's aliases make) over the API's bound.
    BODY_TOO_LARGE = "body_too_large"
    # A command whose handling fails on its own, every time: parked, not retried.
    UNAPPLICABLE_COMMAND = "unapplicable_command"
    SUITE_NOT_FOUND = "suite_not_found"
    PROFILE_NOT_FOUND = "profile_not_found"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    SECRET_NOT_FOUND = "secret_not_found"
    SECRETS_UNAVAILABLE = "secrets_unavailable"


class ExecflowError(Exception):
    """Base of every error execflow raises on purpose."""

    code: ErrorCode


class InvalidWorkflow(ExecflowError):
    code = ErrorCode.INVALID_WORKFLOW


class ExecutionNotFound(ExecflowError):
    code = ErrorCode.EXECUTION_NOT_FOUND

    def __init__(self, execution_id: object) -> None:
        super().__init__(f"execution {execution_id} not found")
        self.execution_id = execution_id


class IllegalTransition(ExecflowError):
    """A command that the execution's current state does not allow."""

    code = ErrorCode.ILLEGAL_TRANSITION


class MalformedMessage(ExecflowError):
    """A message on the bus that does not parse as its contract: it never will."""

    code = ErrorCode.MALFORMED_MESSAGE


class InvalidInput(ExecflowError):
    """An answer to an input request that does not match what was asked for."""

    code = ErrorCode.INVALID_INPUT


class IdempotencyConflict(ExecflowError):
    """An `Idempotency-Key` used again with a different request."""

    code = ErrorCode.IDEMPOTENCY_CONFLICT


class WorkflowNotFound(ExecflowError):
    code = ErrorCode.WORKFLOW_NOT_FOUND


class ScheduleNotFound(ExecflowError):
    code = ErrorCode.SCHEDULE_NOT_FOUND


class SuiteNotFound(ExecflowError):
    """A test suite the platform does not hold (or not at that version)."""

    code = ErrorCode.SUITE_NOT_FOUND


class ProfileNotFound(ExecflowError):
    code = ErrorCode.PROFILE_NOT_FOUND


class ArtifactNotFound(ExecflowError):
    code = ErrorCode.ARTIFACT_NOT_FOUND


class JobNotFound(ExecflowError):
    """An agent names a job the API does not hold (finished, or never claimed here)."""

    code = ErrorCode.JOB_NOT_FOUND


class LeaseLost(ExecflowError):
    """An agent reports with a token whose lease expired: the step may run elsewhere."""

    code = ErrorCode.LEASE_LOST


class BodyTooLarge(ExecflowError):
    """A request body over the API's bound, refused before (or while) it is parsed."""

    code = ErrorCode.BODY_TOO_LARGE


class ArtifactTooLarge(ExecflowError):
    """An upload over the artifact size limit (it is recorded as refused)."""

    code = ErrorCode.ARTIFACT_TOO_LARGE


class UnapplicableCommand(ExecflowError):
    """A valid command the scheduler failed to apply on its own, every time (a fault of
    ours, not the sender's): it is parked in the dead letters with the reason."""

    code = ErrorCode.UNAPPLICABLE_COMMAND


class Unauthenticated(ExecflowError):
    """No API key, or one that is not (or no longer) valid: a 401 with the reason."""

    code = ErrorCode.UNAUTHENTICATED


class Forbidden(ExecflowError):
    """A valid key whose role (or namespace, or queues) does not allow the request."""

    code = ErrorCode.FORBIDDEN


class SecretNotFound(ExecflowError):
    """A secret the namespace does not hold (a step that names one fails to start)."""

    code = ErrorCode.SECRET_NOT_FOUND


class SecretsUnavailable(ExecflowError):
    """No secrets key is configured (EXECFLOW_SECRETS_KEY), or a stored secret does
    not open with the one that is."""

    code = ErrorCode.SECRETS_UNAVAILABLE


# Every condition above, by its code: how a refusal travels as data and back.
ERRORS_BY_CODE: dict[str, type[ExecflowError]] = {
    cls.code.value: cls for cls in ExecflowError.__subclasses__()
}


def refusal(code: str | None, reason: str) -> ExecflowError:
    """The error a refusal travelled as (its code and reason), with the reason as it was
    (each class's own constructor would phrase it again). An unknown code, from a newer
    scheduler, is a fault of ours."""
    cls = ERRORS_BY_CODE.get(code or "", UnapplicableCommand)
    error = cls.__new__(cls)
    ExecflowError.__init__(error, reason)
    return error
