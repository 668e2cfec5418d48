"""The API without a Docker engine: environments answer 503 with a reason, the rest works."""

import httpx
import pytest

from execflow_api.settings import ApiSettings
from execflow_api.wiring import create_app

from ..conftest import Names

pytestmark = pytest.mark.asyncio(loop_scope="function")


async def test_environments_are_unavailable_without_an_engine_and_say_why(
    nats_url: str, database_url: str, provisioned: Names
) -> None:
    app = create_app(
        ApiSettings(
            nats_url=nats_url,
            database_url=database_url,
            db_schema=provisioned.schema,
            bus_prefix=provisioned.prefix,
            docker_host="unix:///nonexistent/docker.sock",
            auth="off",  # the engine's absence is under test, not keys (test_access)
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as client,
    ):
        listing = await client.get("/api/v1/environments")
        assert listing.status_code == 503
        assert "no Docker engine is reachable" in listing.json()["detail"]
        assert (await client.delete("/api/v1/environments/abc")).status_code == 503
        # No runner ever registered here: an empty list, not an error.
        assert (await client.get("/api/v1/workers")).json() == {"items": []}
