"""`execflow-projector`: run the projections until SIGTERM; `migrate` creates its tables."""

from execflow_platform import run_service, service_command

from .schema import migrate
from .settings import ProjectorSettings
from .wiring import serve


def main() -> None:
    settings = ProjectorSettings()
    service_command(
        "projector",
        lambda: run_service("projector", settings, serve),
        lambda: migrate(settings.database_url, settings.db_schema),
    )


if __name__ == "__main__":
    main()
