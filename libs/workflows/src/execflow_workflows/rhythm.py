"""When a schedule fires: cron in a time zone (croniter, zoneinfo) or a fixed interval,
and what to do about fires missed while execflow was down."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from execflow_contracts import CatchupPolicy

# Due fires looked at in one go, at most: a schedule down for longer skips the rest.
MAX_DUE = 1000


@dataclass(frozen=True)
class Rhythm:
    cron: str | None
    every_s: float | None
    timezone: str
    # Interval fires fall on anchor + n * every.
    anchor: datetime

    def check(self) -> None:
        """Raises ValueError naming the field that is wrong."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from None
        if self.cron is not None and not croniter.is_valid(self.cron):
            raise ValueError(f"cron: not a cron expression: {self.cron!r}")

    def next_after(self, moment: datetime) -> datetime:
        """The first fire strictly after `moment`."""
        if self.every_s is not None:
            periods = math.floor((moment - self.anchor).total_seconds() / self.every_s) + 1
            return self.anchor + timedelta(seconds=max(periods, 0) * self.every_s)
        assert self.cron is not None
        local = moment.astimezone(ZoneInfo(self.timezone))
        try:
            fire: datetime = croniter(self.cron, local).get_next(datetime)
        except CroniterError as exc:
            raise ValueError(f"cron: {exc}") from None
        return fire.astimezone(UTC)


def plan(
    rhythm: Rhythm, next_fire_at: datetime, now: datetime, grace_s: float, catchup: CatchupPolicy
) -> tuple[list[datetime], datetime]:
    """The fire times to run now and the next fire time after them.

    A fire due more than `grace_s` ago was missed (execflow was down): `skip` drops
    missed fires, `once` runs the latest of them once, unless a fire is due anyway."""
    due: list[datetime] = []
    moment = next_fire_at
    while moment <= now and len(due) < MAX_DUE:
        due.append(moment)
        moment = rhythm.next_after(moment)
    if moment <= now:
        moment = rhythm.next_after(now)
    on_time = [t for t in due if t >= now - timedelta(seconds=grace_s)]
    missed = [t for t in due if t < now - timedelta(seconds=grace_s)]
    fires = on_time or (missed[-1:] if catchup == "once" else [])
    return fires, moment
