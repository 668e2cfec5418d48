"""The test platform's own endpoints: suites, the launch page's suites, profiles, the
platform settings, sandboxes. (The launch itself is `POST /api/v1/executions`.)"""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import RedirectResponse

from execflow_contracts import EnvironmentList, InvalidWorkflow

from ...routes import environments
from ...state import Deps
from . import store
from .launch import Platform
from .models import (
    LaunchSuiteList,
    PlatformSettings,
    PlatformSettingsIn,
    Profile,
    ProfileIn,
    ProfileList,
    Suite,
    SuiteIn,
    SuiteList,
)
from .topology import TopologyError, ordered

router = APIRouter(prefix="/api/v1", tags=["dialect: test platform"])


class SavedSuite(Suite):
    created: bool


class SavedProfile(Profile):
    created: bool


@router.post("/suites", status_code=status.HTTP_201_CREATED, response_model=SavedSuite)
async def save_suite(suite: SuiteIn, svc: Deps, response: Response) -> SavedSuite:
    """A new version of the suite (201), or the same one again (200). Its nodes must
    form a graph; the suites it imports are looked for when it launches."""
    try:
        ordered(suite)
    except TopologyError as exc:
        raise InvalidWorkflow(str(exc)) from None
    async with svc.pool.connection() as conn:
        saved, created = await store.save_suite(conn, suite)
    if not created:
        response.status_code = status.HTTP_200_OK
    return SavedSuite(**saved.model_dump(by_alias=True), created=created)


@router.get("/suites", response_model=SuiteList, response_model_by_alias=True)
async def list_suites(svc: Deps) -> SuiteList:
    """The latest version of each suite."""
    async with svc.pool.connection() as conn:
        found = await store.catalog(conn)
    return SuiteList(items=sorted(found.latest(), key=lambda s: s.id))


@router.get("/suites/{suite_id}", response_model=Suite, response_model_by_alias=True)
async def get_suite(
    suite_id: str, svc: Deps, version: Annotated[int | None, Query(ge=1)] = None
) -> Suite:
    async with svc.pool.connection() as conn:
        return store.suite_in(await store.catalog(conn), suite_id, version)


@router.get("/launch/suites", response_model=LaunchSuiteList, response_model_by_alias=True)
async def launch_suites(svc: Deps) -> LaunchSuiteList:
    """The suites that can launch now, each with its profile and backend options."""
    async with svc.pool.connection() as conn:
        platform = await Platform.load(conn)
    return LaunchSuiteList(items=platform.launch_suites())


@router.post("/profiles", status_code=status.HTTP_201_CREATED, response_model=SavedProfile)
async def save_profile(profile: ProfileIn, svc: Deps, response: Response) -> SavedProfile:
    """Create (201) or replace (200) a profile: env vars, request headers, a runtime."""
    async with svc.pool.connection() as conn:
        saved, created = await store.save_profile(conn, profile)
    if not created:
        response.status_code = status.HTTP_200_OK
    return SavedProfile(**saved.model_dump(), created=created)


@router.get("/profiles", response_model=ProfileList)
async def list_profiles(svc: Deps) -> ProfileList:
    async with svc.pool.connection() as conn:
        return ProfileList(items=await store.profiles(conn))


@router.get("/profiles/{name}", response_model=Profile)
async def get_profile(name: str, svc: Deps) -> Profile:
    async with svc.pool.connection() as conn:
        return await store.profile(conn, name)


@router.get("/platform/settings", response_model=PlatformSettings, response_model_by_alias=True)
async def get_settings(svc: Deps) -> PlatformSettings:
    """The backends in force: `local` alone when none is configured."""
    async with svc.pool.connection() as conn:
        return PlatformSettings.of(await store.settings(conn))


@router.put("/platform/settings", response_model=PlatformSettings, response_model_by_alias=True)
async def put_settings(given: PlatformSettingsIn, svc: Deps) -> PlatformSettings:
    async with svc.pool.connection() as conn:
        await store.save_settings(conn, given)
    return PlatformSettings.of(given)


# The environments inventory, under the test platform's name for it.
router.add_api_route(
    "/sandboxes",
    environments.list_environments,
    methods=["GET"],
    response_model=EnvironmentList,
    response_model_exclude_unset=True,
    tags=["environments"],
)
router.add_api_route(
    "/sandboxes/{environment_id}",
    environments.delete_environment,
    methods=["DELETE"],
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["environments"],
)

# The test platform's environments page: the dashboard's Workers page lists them.
pages = APIRouter(include_in_schema=False)


@pages.get("/environments")
async def environments_page() -> RedirectResponse:
    return RedirectResponse("/workers", status_code=status.HTTP_307_TEMPORARY_REDIRECT)
