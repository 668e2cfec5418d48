"""Which execution status may follow which: the one table the aggregate obeys."""

from execflow_contracts import ExecutionStatus as S

ALLOWED_MOVES: dict[S, frozenset[S]] = {
    S.PENDING: frozenset({S.QUEUED, S.FAILED, S.CANCELLED}),
    S.QUEUED: frozenset({S.RUNNING, S.STARTING, S.FAILED, S.CANCELLED, S.CANCELLING}),
    S.STARTING: frozenset({S.RUNNING, S.FAILED, S.CANCELLING}),
    S.RUNNING: frozenset(
        {S.COMPLETED, S.FAILED, S.AWAITING_INPUT, S.BACKOFF, S.CANCELLING, S.TIMED_OUT}
    ),
    S.AWAITING_INPUT: frozenset({S.RUNNING, S.CANCELLING, S.TIMED_OUT, S.FAILED}),
    S.BACKOFF: frozenset({S.QUEUED, S.CANCELLING, S.TIMED_OUT, S.FAILED}),
    S.CANCELLING: frozenset({S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.TIMED_OUT: frozenset(),
}


def can_move(current: S, target: S) -> bool:
    return target in ALLOWED_MOVES[current]
