"""`execflow-api`: serve the REST API with uvicorn."""

import uvicorn

from execflow_platform import configure_logging, freeze_loaded_objects

from .settings import ApiSettings
from .wiring import create_app


def main() -> None:
    settings = ApiSettings()
    configure_logging(settings.log_level, "api")
    app = create_app(settings)
    freeze_loaded_objects()
    uvicorn.run(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_grace_s,
        loop="uvloop" if settings.event_loop == "uvloop" else "asyncio",
    )


if __name__ == "__main__":
    main()
