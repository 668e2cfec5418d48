"""What request handlers get: the bus, the read models, the names. Built in `wiring`."""

from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, Request
from nats.aio.client import Client
from nats.js import JetStreamContext
from psycopg_pool import AsyncConnectionPool

from execflow_catalogue.secrets import SecretsKeyring
from execflow_contracts import Topology
from execflow_platform import ArtifactStore, ChangeFeed

from .agents import AgentControl
from .auth import ANYONE, Caller, Guarded
from .docker_engine import DockerEngine


@dataclass
class Services:
    nc: Client
    js: JetStreamContext
    pool: AsyncConnectionPool
    topology: Topology
    docker: DockerEngine
    artifacts: ArtifactStore
    agents: AgentControl
    changes: ChangeFeed
    # Seals, opens and re-seals secrets (None: no EXECFLOW_SECRETS_KEY, so none can be set).
    secrets_keyring: SecretsKeyring | None = None
    # Who sends the request (the guard's verdict): its namespace scopes every query.
    caller: Caller = ANYONE


async def services(request: Request, caller: Guarded) -> Services:
    # async: a plain function would be run in a worker thread on every request.
    svc: Services = request.app.state.services
    return replace(svc, caller=caller)


async def open_services(request: Request) -> Services:
    """For the open routes (health): no key asked for."""
    svc: Services = request.app.state.services
    return svc


Deps = Annotated[Services, Depends(services)]
OpenDeps = Annotated[Services, Depends(open_services)]
