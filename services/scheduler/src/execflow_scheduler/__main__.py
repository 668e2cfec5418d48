"""`execflow-scheduler`: run the scheduler until SIGTERM; `migrate` creates its tables."""

from execflow_platform import run_service, service_command

from .schema import migrate
from .settings import SchedulerSettings
from .wiring import serve


def main() -> None:
    settings = SchedulerSettings()
    service_command(
        "scheduler", lambda: run_service("scheduler", settings, serve), lambda: migrate(settings)
    )


if __name__ == "__main__":
    main()
