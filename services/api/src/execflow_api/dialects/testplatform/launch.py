"""Launching a suite: `{suiteId, profile, backend?}` becomes one CreateExecution whose
steps are the suite's resolved topology; and which suites can launch at all."""

from dataclasses import dataclass
from uuid import uuid4

from psycopg import AsyncConnection
from pydantic import ValidationError

from execflow_contracts import (
    CreateExecution,
    ExecutionStatus,
    InvalidInput,
    InvalidWorkflow,
    ProfileNotFound,
)
from execflow_workflows import check_workflow

from ... import presenters
from ...commands import send
from ...state import Services
from . import steps, store
from .models import (
    Backend,
    BackendOption,
    Launched,
    LaunchRequest,
    LaunchSuite,
    PlatformSettings,
    Profile,
    ProfileOption,
    Suite,
)
from .topology import Catalog, Resolved, TopologyError, resolve


@dataclass(frozen=True)
class Platform:
    """What a launch reads: the suites, the profiles, the settings in force."""

    catalog: Catalog
    profiles: dict[str, Profile]
    settings: PlatformSettings

    @classmethod
    async def load(cls, conn: AsyncConnection) -> "Platform":
        return cls(
            await store.catalog(conn),
            {p.name: p for p in await store.profiles(conn)},
            PlatformSettings.of(await store.settings(conn)),
        )

    def profiles_of(self, suite: Suite) -> list[Profile]:
        """The profiles the suite supports that exist (it names none: every profile)."""
        if not suite.profiles:
            return list(self.profiles.values())
        return [self.profiles[name] for name in suite.profiles if name in self.profiles]

    def launchable(self, suite: Suite) -> LaunchSuite | None:
        """The suite as the launch page lists it; None if it cannot launch (a nested
        suite is missing, or none of its profiles exists)."""
        try:
            nodes = resolve(suite, self.catalog)
        except TopologyError:
            return None
        profiles = self.profiles_of(suite)
        if not profiles:
            return None
        return LaunchSuite(
            id=suite.id,
            title=suite.title,
            repository=suite.repository,
            version=suite.version,
            profiles=[ProfileOption(name=p.name, description=p.description) for p in profiles],
            backends=[BackendOption(name=b.name, type=b.type) for b in self.settings.backends],
            default_backend=self.settings.default_backend,
            nodes=len(nodes),
        )

    def launch_suites(self) -> list[LaunchSuite]:
        found = (self.launchable(s) for s in sorted(self.catalog.latest(), key=lambda s: s.id))
        return [suite for suite in found if suite is not None]

    def choose(self, request: LaunchRequest) -> tuple[Suite, Profile, Backend, list[Resolved]]:
        """What the request launches; a 4xx naming what is missing or refused."""
        suite = store.suite_in(self.catalog, request.suite_id)
        profile = self.profiles.get(request.profile)
        if profile is None:
            raise ProfileNotFound(f"profile '{request.profile}' not found")
        if suite.profiles and profile.name not in suite.profiles:
            supported = ", ".join(suite.profiles)
            raise InvalidInput(f"suite '{suite.id}' runs with {supported}, not '{profile.name}'")
        backend = self.settings.backend(request.backend)
        if backend is None:
            known = ", ".join(b.name for b in self.settings.backends)
            raise InvalidInput(f"no backend '{request.backend}': the platform has {known}")
        try:
            nodes = resolve(suite, self.catalog)
        except TopologyError as exc:
            raise InvalidWorkflow(str(exc)) from None
        return suite, profile, backend, nodes


async def launch(svc: Services, request: LaunchRequest) -> Launched:
    async with svc.pool.connection() as conn:
        platform = await Platform.load(conn)
    suite, profile, backend, nodes = platform.choose(request)
    execution_id = uuid4()
    try:
        spec = steps.workflow(execution_id, suite, nodes, profile, backend)
    except ValidationError as exc:
        raise InvalidWorkflow(f"suite '{suite.id}' cannot run as execflow steps: {exc}") from None
    check_workflow(spec)
    metadata = {
        "suiteId": suite.id,
        "suiteVersion": suite.version,
        "profile": profile.name,
        "backend": backend.name,
    }
    await send(
        svc,
        CreateExecution(
            execution_id=execution_id,
            workflow=spec,
            metadata=request.metadata | metadata,
            actor="api",
        ),
    )
    return Launched(
        id=str(execution_id),
        status=ExecutionStatus.PENDING,
        links=presenters.links(execution_id),
        suite_id=suite.id,
        profile=profile.name,
        backend=backend.name,
        steps=len(spec.steps),
    )
