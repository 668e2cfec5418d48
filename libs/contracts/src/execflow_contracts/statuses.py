"""The lifecycle vocabulary: execution and step states, transition types."""

from enum import StrEnum


class ExecutionStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    AWAITING_INPUT = "awaiting_input"
    BACKOFF = "backoff"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_EXECUTION_STATUSES


TERMINAL_EXECUTION_STATUSES = frozenset(
    {
        ExecutionStatus.COMPLETED,
        ExecutionStatus.FAILED,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.TIMED_OUT,
    }
)


class StepStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    AWAITING_INPUT = "awaiting_input"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        return self in FINISHED_STEP_STATUSES


FINISHED_STEP_STATUSES = frozenset(
    {StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED}
)

# The step's state machine, written once: the aggregate, the projector and the CLI's
# watcher read it here. A move to the same status (a redelivered attempt starting
# again) is always allowed.
_P, _Q, _R, _W = (
    StepStatus.PENDING,
    StepStatus.QUEUED,
    StepStatus.RUNNING,
    StepStatus.AWAITING_INPUT,
)
_OK, _KO, _SKIP, _STOP = (
    StepStatus.SUCCEEDED,
    StepStatus.FAILED,
    StepStatus.SKIPPED,
    StepStatus.CANCELLED,
)
STEP_MOVES: dict[StepStatus, frozenset[StepStatus]] = {
    # dispatched; a child started; an input step asks; skipped; reused from a retried
    # execution; refused (a template failed); cancelled before it ran
    _P: frozenset({_Q, _R, _W, _SKIP, _OK, _KO, _STOP}),
    _Q: frozenset({_R, _OK, _KO, _STOP}),
    _R: frozenset({_W, _OK, _KO, _STOP}),
    _W: frozenset({_R, _OK, _KO, _STOP}),
    # retried later; or stopped while its execution was being cancelled
    _KO: frozenset({_P, _STOP}),
    _OK: frozenset(),
    _SKIP: frozenset(),
    _STOP: frozenset(),
}


def can_move_step(current: StepStatus, target: StepStatus) -> bool:
    return target is current or target in STEP_MOVES[current]


# The status a step event leaves its step in. `InputProvided` is not here: the step
# goes on running if it asked while running, and succeeds if it was an input step.
STEP_STATUS_AFTER: dict[str, StepStatus] = {
    "StepDispatched": _Q,
    "ChildRequested": _R,
    "StepStarted": _R,
    "StepSucceeded": _OK,
    "StepReused": _OK,
    "StepFailed": _KO,
    "StepRetryScheduled": _P,
    "StepSkipped": _SKIP,
    "StepCancelled": _STOP,
    "InputRequested": _W,
}


class TransitionType(StrEnum):
    INIT = "init"
    QUEUE = "queue"
    START = "start"
    STEP = "step"
    WAIT = "wait"
    RESUME = "resume"
    RETRY = "retry"
    FINISH = "finish"
    ERROR = "error"
    CANCEL = "cancel"
    TIMEOUT = "timeout"
