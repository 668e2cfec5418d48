"""The one place where the API is wired."""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from psycopg_pool import AsyncConnectionPool

from execflow_catalogue import secrets
from execflow_catalogue.secrets import SecretsKeyring
from execflow_contracts import StepWork
from execflow_platform import (
    ArtifactStore,
    ChangeFeed,
    changes_channel,
    connect,
    ensure_streams,
    schema_conninfo,
)
from execflow_telemetry import tracing

from . import dialects, errors
from .agents import AgentControl
from .auth import Authenticator, guard
from .auth.routes import router as access_router
from .body_limit import BodyLimit
from .dashboard import install_dashboard
from .docker_engine import DockerEngine
from .openapi import COMPONENTS, join_modes
from .routes import ROUTERS
from .routes.agents import UPLOADS
from .routes.asyncapi import router as asyncapi_router
from .routes.health import router as health_router
from .routes.workflows import DEFINITION_SCHEMAS
from .settings import ApiSettings
from .state import Services

log = logging.getLogger(__name__)
# Routes anyone may call: health, the bus's AsyncAPI document (a document, as /docs is),
# and the test platform's page that redirects to the dashboard (the dashboard's files,
# /docs and /openapi.json are FastAPI's or mounted).
OPEN_ROUTERS = [health_router, asyncapi_router, dialects.testplatform.pages]


def create_app(settings: ApiSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nc = await connect(settings.nats_url, "execflow-api")
        js = nc.jetstream()
        await ensure_streams(js, settings.topology)
        conninfo = schema_conninfo(settings.database_url, settings.db_schema)
        pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=settings.db_pool_size,
            open=False,
        )
        await pool.open()
        app.state.authenticator = Authenticator(pool, settings.auth == "on", settings.auth_cache_s)
        if settings.auth == "off":
            log.warning(
                "auth is OFF (EXECFLOW_AUTH=off): anyone who reaches this API may do anything"
            )
        keyring = settings.secrets_keyring()
        docker = DockerEngine(settings.docker_host)
        artifacts = ArtifactStore(settings.artifact_store_url)
        agents = AgentControl(
            nc,
            settings.topology,
            settings.lease_s,
            artifacts,
            settings.artifact_max_bytes,
            settings.worker_ttl_s,
            secrets_opener(pool, keyring),
        )
        await agents.start()
        changes = ChangeFeed(
            conninfo, changes_channel(settings.db_schema), settings.live_fallback_s
        )
        await changes.start()
        app.state.services = Services(
            nc=nc,
            js=js,
            pool=pool,
            topology=settings.topology,
            docker=docker,
            artifacts=artifacts,
            agents=agents,
            changes=changes,
            secrets_keyring=keyring,
        )
        try:
            yield
        finally:
            await changes.close()
            await agents.close()
            docker.close()
            await pool.close()
            await nc.close()

    app = FastAPI(
        title="execflow",
        version="0.1.0",
        description="Durable executions: run workflows, watch them, replay their history.",
        lifespan=lifespan,
    )
    errors.install(app)
    # Outermost: no body is read past its bound by anything else.
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes, exempt=UPLOADS)
    instrument(app)
    for router in [access_router, *ROUTERS, *dialects.ROUTERS]:
        if router in OPEN_ROUTERS:
            app.include_router(router)
        else:
            app.include_router(router, dependencies=[Depends(guard)])
    document_schemas(app, DEFINITION_SCHEMAS | COMPONENTS)
    install_dashboard(app, settings.dashboard_dir)  # last: its pages catch every other path
    return app


def secrets_opener(
    pool: AsyncConnectionPool, keyring: SecretsKeyring | None
) -> Callable[[StepWork], Awaitable[dict[str, str]]]:
    """Opens the secrets of a step a remote agent claims (a runner opens its own)."""

    async def open_secrets(work: StepWork) -> dict[str, str]:
        wanted = work.run.secret_env
        if not wanted:
            return {}
        async with pool.connection() as conn:
            return await secrets.values(conn, keyring, work.namespace, wanted)

    return open_secrets


def instrument(app: FastAPI) -> None:
    """With tracing on: a span for every request (its `traceparent` header continued)
    and for every query. Off, nothing is patched: a request costs what it did."""
    if not tracing.enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    instrumentor = PsycopgInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def document_schemas(app: FastAPI, schemas: dict[str, Any]) -> None:
    """Adds to the OpenAPI document's components what routes refer to without FastAPI
    seeing it (a name FastAPI already documents keeps its own), and joins the schemas
    FastAPI split for nothing (`join_modes`). Made once."""
    build = app.openapi
    made: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not made:
            document = join_modes(build())
            documented = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in schemas.items():
                documented.setdefault(name, schema)
            made.append(document)
        return made[0]

    app.openapi = openapi  # type: ignore[method-assign]
