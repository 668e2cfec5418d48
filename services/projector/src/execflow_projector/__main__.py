"""`execflow-projector`: run the projections until SIGTERM."""

from execflow_platform import run_service

from .settings import ProjectorSettings
from .wiring import serve


def main() -> None:
    run_service("projector", ProjectorSettings(), serve)


if __name__ == "__main__":
    main()
