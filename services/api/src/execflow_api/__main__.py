"""`execflow-api`: serve the REST API with uvicorn; `migrate` creates the tables it
writes (the catalogue's: workflow definitions, schedules, queue limits; its dialects')."""

import uvicorn

from execflow_platform import configure_logging, freeze_loaded_objects, service_command, telemetry

from .schema import migrate
from .settings import ApiSettings
from .wiring import create_app


def serve(settings: ApiSettings) -> None:
    configure_logging(settings.log_level, "api", settings.log_format)
    telemetry.tracing.setup_tracing("api")
    app = create_app(settings)
    freeze_loaded_objects()
    try:
        uvicorn.run(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_level=settings.log_level.lower(),
            log_config=None,  # uvicorn's lines go through ours (JSON when asked)
            access_log=False,
            timeout_graceful_shutdown=settings.shutdown_grace_s,
            loop="uvloop" if settings.event_loop == "uvloop" else "asyncio",
            ssl_certfile=settings.api_tls_cert,
            ssl_keyfile=settings.api_tls_key,
        )
    finally:
        telemetry.tracing.shutdown_tracing()


def main() -> None:
    settings = ApiSettings()
    service_command(
        "api", lambda: serve(settings), lambda: migrate(settings.database_url, settings.db_schema)
    )


if __name__ == "__main__":
    main()
