"""Schedule arithmetic: cron in a time zone, intervals, and missed fires."""

from datetime import UTC, datetime, timedelta

import pytest

from execflow_workflows import Rhythm, plan

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_cron_fires_in_its_time_zone() -> None:
    rhythm = Rhythm("0 2 * * *", None, "Europe/Paris", T0)
    # 02:00 in Paris in winter is 01:00 UTC.
    assert rhythm.next_after(T0) == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_intervals_fall_on_the_anchor_grid() -> None:
    rhythm = Rhythm(None, 30, "UTC", T0)
    assert rhythm.next_after(T0) == T0 + timedelta(seconds=30)
    assert rhythm.next_after(T0 + timedelta(seconds=31)) == T0 + timedelta(seconds=60)


@pytest.mark.parametrize(
    ("cron", "timezone", "error"),
    [("0 25 * * *", "UTC", "cron"), ("0 2 * * *", "Mars/Olympus", "timezone")],
)
def test_bad_rhythms_are_refused_naming_the_field(cron: str, timezone: str, error: str) -> None:
    with pytest.raises(ValueError, match=f"^{error}:"):
        Rhythm(cron, None, timezone, T0).check()


def test_a_fire_due_now_fires_once_and_the_next_is_planned() -> None:
    rhythm = Rhythm(None, 10, "UTC", T0)
    due = T0 + timedelta(seconds=10)
    fires, following = plan(rhythm, due, due + timedelta(seconds=0.3), 5, "skip")
    assert fires == [due]
    assert following == T0 + timedelta(seconds=20)


@pytest.mark.parametrize(("catchup", "expected"), [("skip", 0), ("once", 1)])
def test_fires_missed_while_down_are_skipped_or_run_once(catchup: str, expected: int) -> None:
    rhythm = Rhythm(None, 10, "UTC", T0)
    now = T0 + timedelta(seconds=127)  # down for two minutes: 12 fires missed
    fires, following = plan(rhythm, T0 + timedelta(seconds=10), now, 5, catchup)  # type: ignore[arg-type]
    assert len(fires) == expected
    assert fires == ([T0 + timedelta(seconds=120)] if expected else [])
    assert following == T0 + timedelta(seconds=130)
