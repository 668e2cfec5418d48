"""The test platform's launch model, as its UI and CLI call it: profiles and suites
(with a nested suite), the launch page's suites, the platform settings and their
fallback, `POST /api/v1/executions {suiteId, profile, backend?}`, readiness, sandboxes."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..conftest import logs_until, wait_finished, wait_until


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def echo(node_id: str, *depends_on: str, **extra: Any) -> dict[str, Any]:
    script = 'echo "$EXECFLOW_NODE $EXECFLOW_NODE_INDEX/$EXECFLOW_NODE_TOTAL $BASE_URL"'
    return {"id": node_id, "dependsOn": list(depends_on), "command": ["sh", "-c", script], **extra}


def post(api: httpx.Client, path: str, body: dict[str, Any], expected: int = 201) -> Any:
    response = api.post(path, json=body)
    assert response.status_code == expected, response.text
    return response.json()


@pytest.fixture
def settings(api: httpx.Client) -> Iterator[None]:
    """Platform settings a test changes are put back as they were (none) after it."""
    yield
    assert api.put("/api/v1/platform/settings", json={"backends": []}).status_code == 200


@pytest.fixture
def profile(api: httpx.Client) -> str:
    name = unique("staging")
    body = {
        "name": name,
        "description": "the staging stack",
        "env": {"BASE_URL": "https://staging.example.com"},
        "headers": {"X-Tenant": "acme"},
        "runtime": {"name": "python-3.12", "timeout": "5m"},
    }
    saved = post(api, "/api/v1/profiles", body)
    assert saved["created"] is True
    assert post(api, "/api/v1/profiles", body, expected=200)["created"] is False
    return name


def test_a_nested_suite_launches_with_a_profile_and_shows_its_step_specs(
    api: httpx.Client, profile: str
) -> None:
    database = unique("database")
    post(
        api,
        "/api/v1/suites",
        {
            "id": database,
            "title": "Database",
            "topology": {"nodes": [echo("start"), echo("seed", "start")]},
        },
    )
    app = unique("app")
    suite = post(
        api,
        "/api/v1/suites",
        {
            "id": app,
            "title": "App end to end",
            "repository": "https://git.example.com/app",
            "profiles": [profile],
            "topology": {
                "nodes": [
                    echo("build"),
                    {"id": "db", "dependsOn": ["build"], "suite": {"id": database}},
                    echo("tests", "db", labels={"tier": "e2e"}),
                ]
            },
        },
    )
    assert (suite["version"], suite["created"]) == (1, True)
    assert suite["digest"].startswith("sha256:")
    listed = {s["id"]: s for s in api.get("/api/v1/suites").json()["items"]}
    assert listed[app]["topology"]["nodes"][1]["suite"] == {"id": database, "ref": "latest"}

    launch = {s["id"]: s for s in api.get("/api/v1/launch/suites").json()["items"]}
    assert launch[app] == {
        "id": app,
        "title": "App end to end",
        "repository": "https://git.example.com/app",
        "version": 1,
        "profiles": [{"name": profile, "description": "the staging stack"}],
        "backends": [{"name": "local", "type": "local"}],
        "defaultBackend": "local",
        "nodes": 4,
    }

    accepted = post(api, "/api/v1/executions", {"suiteId": app, "profile": profile}, 202)
    assert (accepted["suiteId"], accepted["profile"], accepted["backend"]) == (
        app,
        profile,
        "local",
    )
    assert (accepted["status"], accepted["steps"]) == ("pending", 4)
    done = wait_finished(api, accepted["id"])
    assert done["status"] == "completed", done
    assert done["metadata"] == {
        "suiteId": app,
        "suiteVersion": 1,
        "profile": profile,
        "backend": "local",
    }
    steps = {s["id"]: s for s in done["steps"]}
    assert list(steps) == ["build", "db__start", "db__seed", "tests"]
    seed = steps["db__seed"]["metadata"]
    assert seed["execution"] == {
        "id": accepted["id"],
        "suiteId": app,
        "profile": profile,
        "backend": "local",
    }
    assert seed["suite"]["id"] == app and seed["suite"]["digest"] == suite["digest"]
    assert seed["source"] == {
        "suite": database,
        "alias": "db",
        "ref": "latest",
        "resolvedRef": f"{database}@1",
        "digest": listed[database]["digest"],
    }
    assert (seed["index"], seed["total"]) == (3, 4)
    assert seed["node"] == echo("seed", "start")
    assert seed["profile"] == {
        "name": profile,
        "runtime": {
            "name": "python-3.12",
            "image": None,
            "cpus": None,
            "memory": None,
            "timeout": 300.0,
        },
    }
    assert seed["env"]["BASE_URL"] == "https://staging.example.com"
    assert seed["headers"] == {"X-Tenant": "acme"}
    assert seed["backend"] == {"name": "local", "type": "local", "queue": None}
    assert steps["tests"]["metadata"]["node"]["labels"] == {"tier": "e2e"}
    lines = logs_until(api, accepted["id"], lambda found: len(found) == 4)
    assert sorted(line["line"] for line in lines) == sorted(
        f"{step} {n}/4 https://staging.example.com"
        for n, step in enumerate(["build", "db__start", "db__seed", "tests"], start=1)
    )


def test_only_suites_that_can_launch_are_on_the_launch_page(
    api: httpx.Client, profile: str
) -> None:
    orphan = unique("orphan")
    post(
        api,
        "/api/v1/suites",
        {
            "id": orphan,
            "title": "Imports nothing there",
            "topology": {"nodes": [{"id": "x", "suite": {"id": unique("missing")}}]},
        },
    )
    picky = unique("picky")
    post(
        api,
        "/api/v1/suites",
        {
            "id": picky,
            "title": "Needs a profile nobody made",
            "profiles": [unique("nope")],
            "topology": {"nodes": [echo("a")]},
        },
    )
    fine = unique("fine")
    post(api, "/api/v1/suites", {"id": fine, "title": "Fine", "topology": {"nodes": [echo("a")]}})
    launchable = {s["id"] for s in api.get("/api/v1/launch/suites").json()["items"]}
    assert fine in launchable
    assert orphan not in launchable and picky not in launchable
    refused = api.post("/api/v1/executions", json={"suiteId": orphan, "profile": profile})
    assert refused.status_code == 422
    assert "no suite 'missing-" in refused.json()["reason"]


def test_platform_settings_choose_the_backend_and_fall_back_to_local(
    api: httpx.Client, profile: str, settings: None
) -> None:
    assert api.get("/api/v1/platform/settings").json() == {
        "backends": [{"name": "local", "type": "local", "queue": None}],
        "defaultBackend": "local",
        "configured": False,
    }
    queue = unique("lab")
    given = {
        "backends": [
            {"name": "local", "type": "local"},
            {"name": "lab", "type": "remote-agent", "queue": queue},
        ],
        "defaultBackend": "lab",
    }
    put = api.put("/api/v1/platform/settings", json=given)
    assert put.status_code == 200, put.text
    assert put.json()["configured"] is True
    suite_id = unique("on-lab")
    post(
        api, "/api/v1/suites", {"id": suite_id, "title": "Lab", "topology": {"nodes": [echo("a")]}}
    )
    page = {s["id"]: s for s in api.get("/api/v1/launch/suites").json()["items"]}
    assert page[suite_id]["backends"] == [
        {"name": "local", "type": "local"},
        {"name": "lab", "type": "remote-agent"},
    ]
    assert page[suite_id]["defaultBackend"] == "lab"
    accepted = post(api, "/api/v1/executions", {"suiteId": suite_id, "profile": profile}, 202)
    assert accepted["backend"] == "lab"

    body = wait_until(api, accepted["id"], lambda b: b["status"] == "queued")
    assert body["steps"][0]["queue"] == queue  # waits for an agent of the lab
    api.post(f"/api/v1/executions/{accepted['id']}/cancel")
    bad = api.put(
        "/api/v1/platform/settings", json={"backends": [{"name": "k", "type": "kubernetes"}]}
    )
    assert bad.status_code == 422
    assert "needs the `queue` it serves" in bad.json()["reason"]


def test_launch_refusals_name_what_is_wrong(api: httpx.Client, profile: str) -> None:
    suite_id = unique("refusals")
    post(
        api,
        "/api/v1/suites",
        {
            "id": suite_id,
            "title": "R",
            "profiles": [profile],
            "topology": {"nodes": [echo("a")]},
        },
    )
    cases = [
        ({"suiteId": unique("none"), "profile": profile}, 404, "suite 'none-"),
        ({"suiteId": suite_id, "profile": "ghost"}, 404, "profile 'ghost' not found"),
        ({"suiteId": suite_id, "profile": profile, "backend": "mars"}, 422, "no backend 'mars'"),
        ({"suiteId": suite_id, "profile": profile, "workflow": {}}, 422, "workflow"),
    ]
    for body, code, reason in cases:
        response = api.post("/api/v1/executions", json=body)
        assert response.status_code == code, (body, response.text)
        assert reason in response.json()["reason"], (body, response.text)
    other = unique("other")
    post(api, "/api/v1/profiles", {"name": other})
    unsupported = api.post("/api/v1/executions", json={"suiteId": suite_id, "profile": other})
    assert unsupported.status_code == 422
    assert unsupported.json()["reason"] == f"suite '{suite_id}' runs with {profile}, not '{other}'"
    cycle = api.post(
        "/api/v1/suites",
        json={
            "id": unique("cycle"),
            "title": "C",
            "topology": {"nodes": [echo("a", "b"), echo("b", "a")]},
        },
    )
    assert cycle.status_code == 422
    assert "dependency cycle among: a, b" in cycle.json()["reason"]
    # execflow's own body is unchanged by the test platform's.
    own = api.post("/api/v1/executions", json={"workflow_id": unique("nope")})
    assert own.status_code == 404


def test_readiness_reports_the_platform_and_sandboxes_are_the_environments(
    api: httpx.Client,
) -> None:
    ready = api.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    for check in ("nats", "datastore", "platform-settings", "profiles", "launchable-suites"):
        assert body["checks"][check] == "ok", check
    assert body["checks"]["cache"] == "absent"
    assert body["platform"]["backends"] == ["local"]
    assert isinstance(body["platform"]["launchable-suites"], int)
    page = api.get("/environments")
    assert (page.status_code, page.headers["location"]) == (307, "/workers")
    sandboxes, environments = api.get("/api/v1/sandboxes"), api.get("/api/v1/environments")
    assert sandboxes.status_code == environments.status_code
    assert sandboxes.json().keys() == environments.json().keys()
