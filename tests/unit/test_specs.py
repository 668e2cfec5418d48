"""Durations, backoff and retry policies: the arithmetic a user relies on."""

import pytest
from pydantic import TypeAdapter, ValidationError

from execflow_contracts import Backoff, Duration, RetryPolicy

DURATION: TypeAdapter[float] = TypeAdapter(Duration)


@pytest.mark.parametrize(
    ("given", "seconds"),
    [(3, 3.0), (0.25, 0.25), ("500ms", 0.5), ("5s", 5.0), ("1m", 60.0), ("2h", 7200.0), ("7", 7)],
)
def test_durations_are_seconds_or_strings_with_a_unit(given: object, seconds: float) -> None:
    assert DURATION.validate_python(given) == seconds


@pytest.mark.parametrize("given", ["soon", "5 parsecs", -1, "-3s"])
def test_anything_else_is_refused(given: object) -> None:
    with pytest.raises(ValidationError):
        DURATION.validate_python(given)


def test_backoff_grows_by_its_factor_up_to_its_max_and_jitters_within_bounds() -> None:
    backoff = Backoff(initial=1, factor=3, max=10, jitter=0.5)
    assert [backoff.delay(n, 0) for n in (1, 2, 3, 4)] == [1, 3, 9, 10]
    assert backoff.delay(1, 1) == 1.5
    assert backoff.delay(1, -1) == 0.5


def test_a_retry_policy_stops_at_max_attempts_and_at_what_it_excludes() -> None:
    policy = RetryPolicy(max_attempts=3, no_retry_exit_codes=[2], no_retry_errors=["timeout"])
    assert policy.allows_retry(1, 1, "exit")
    assert policy.allows_retry(2, 1, "exit")
    assert not policy.allows_retry(3, 1, "exit")
    assert not policy.allows_retry(1, 2, "exit")
    assert not policy.allows_retry(1, None, "timeout")
