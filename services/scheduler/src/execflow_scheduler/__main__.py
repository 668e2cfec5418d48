"""`execflow-scheduler`: run the scheduler until SIGTERM."""

from execflow_platform import run_service

from .settings import SchedulerSettings
from .wiring import serve


def main() -> None:
    run_service("scheduler", SchedulerSettings(), serve)


if __name__ == "__main__":
    main()
