"""`execflow-runner`: run step work until SIGTERM."""

from execflow_platform import run_service

from .settings import RunnerSettings
from .wiring import serve


def main() -> None:
    run_service("runner", RunnerSettings(), serve)


if __name__ == "__main__":
    main()
