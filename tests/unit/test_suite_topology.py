"""The test platform's topologies, resolved into execflow steps: pure, no I/O."""

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from execflow_api.dialects.testplatform.models import Backend, Profile, Suite, SuiteIn
from execflow_api.dialects.testplatform.steps import workflow
from execflow_api.dialects.testplatform.topology import (
    Catalog,
    TopologyError,
    digest,
    ordered,
    resolve,
)
from execflow_workflows.templates import render

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def node(node_id: str, *depends_on: str, **extra: Any) -> dict[str, Any]:
    shape = {"command": ["run", node_id]} if "suite" not in extra else {}
    return {"id": node_id, "dependsOn": list(depends_on), **shape, **extra}


def suite(suite_id: str, *nodes: dict[str, Any], version: int = 1, **extra: Any) -> Suite:
    given = SuiteIn.model_validate(
        {"id": suite_id, "title": suite_id.title(), "topology": {"nodes": list(nodes)}, **extra}
    )
    return Suite(
        **given.model_dump(by_alias=True), version=version, digest=digest(given), created_at=NOW
    )


def shape(found: list[Any]) -> list[tuple[str, list[str]]]:
    return [(r.step_id, r.needs) for r in found]


def test_a_flat_topology_runs_each_node_after_what_it_depends_on() -> None:
    flat = suite("app", node("test", "build"), node("build"), node("lint"), node("ship", "test"))
    assert shape(resolve(flat, Catalog.of([flat]))) == [
        ("build", []),
        ("lint", []),
        ("test", ["build"]),
        ("ship", ["test"]),
    ]


def test_a_nested_suite_is_expanded_between_its_neighbours() -> None:
    db = suite("db", node("start"), node("migrate", "start"), node("seed", "start"))
    app = suite(
        "app",
        node("setup"),
        node("database", "setup", suite={"id": "db"}),
        node("tests", "database"),
    )
    found = resolve(app, Catalog.of([db, app]))
    assert shape(found) == [
        ("setup", []),
        ("database__start", ["setup"]),
        ("database__migrate", ["database__start"]),
        ("database__seed", ["database__start"]),
        ("tests", ["database__migrate", "database__seed"]),
    ]
    assert found[0].source is None
    assert found[1].source == {
        "suite": "db",
        "alias": "database",
        "ref": "latest",
        "resolvedRef": "db@1",
        "digest": db.digest,
    }


def test_a_pinned_ref_takes_that_version_and_suites_nest_in_suites() -> None:
    old = suite("lib", node("v1"), version=1)
    new = suite("lib", node("v2"), version=2)
    middle = suite("mid", node("lib", suite={"id": "lib", "ref": "1"}))
    top = suite("top", node("m", suite={"id": "mid"}), node("after", "m"))
    found = resolve(top, Catalog.of([old, new, middle, top]))
    assert shape(found) == [("m__lib__v1", []), ("after", ["m__lib__v1"])]
    assert found[0].source is not None
    assert (found[0].source["alias"], found[0].source["resolvedRef"]) == ("m__lib", "lib@1")
    assert old.digest != new.digest


@pytest.mark.parametrize(
    ("suites", "reason"),
    [
        ([suite("a", node("x", suite={"id": "a"}))], "suite 'a' imports itself (a)"),
        ([suite("a", node("x", suite={"id": "gone"}))], "no suite 'gone' at latest"),
        (
            [suite("a", node("x", suite={"id": "b", "ref": "7"})), suite("b", node("y"))],
            "no suite 'b' at 7",
        ),
        (
            [suite("a", node("x", suite={"id": "b"})), suite("b", node("y", suite={"id": "a"}))],
            "imports itself (a -> b)",
        ),
    ],
)
def test_imports_that_cannot_resolve_say_why(suites: list[Suite], reason: str) -> None:
    with pytest.raises(TopologyError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        resolve(suites[0], Catalog.of(suites))


def test_cycles_unknown_and_duplicate_nodes_are_refused() -> None:
    with pytest.raises(TopologyError, match="dependency cycle among: a, b"):
        ordered(suite("s", node("a", "b"), node("b", "a"), node("c")))
    with pytest.raises(TopologyError, match="node 'a' depends on unknown nodes: zz"):
        ordered(suite("s", node("a", "zz")))
    with pytest.raises(TopologyError, match="duplicate nodes: a"):
        ordered(suite("s", node("a"), node("a")))
    with pytest.raises(ValueError, match="either `command` or `suite`"):
        suite("s", {"id": "nothing"})


def test_steps_carry_the_launch_in_metadata_and_env() -> None:
    db = suite("db", node("start", image="postgres:16", env={"PGPORT": "5433"}))
    app = suite(
        "app",
        node("database", suite={"id": "db"}),
        node("tests", "database", command=["pytest", "-k", "{{ not_a_template }}"], retries=2),
        repository="git@example.com:app.git",
    )
    profile = Profile(
        name="staging",
        env={"BASE_URL": "https://staging", "PGPORT": "5432"},
        headers={"X-Tenant": "acme"},
        runtime={"image": "python:3.12", "memory": "512m", "timeout": "10m"},
        updated_at=NOW,
    )
    execution_id = uuid4()
    nodes = resolve(app, Catalog.of([db, app]))
    spec = workflow(execution_id, app, nodes, profile, Backend(name="local", type="local"))
    start, tests = spec.steps
    assert start.run is not None and tests.run is not None
    assert (start.run.image, tests.run.image) == ("postgres:16", "python:3.12")
    assert start.run.resources is not None and start.run.resources.memory == "512m"
    assert start.run.env["PGPORT"] == "5433"  # the node's own wins over the profile's
    assert tests.run.env["EXECFLOW_REQUEST_HEADERS"] == '{"X-Tenant": "acme"}'
    assert (tests.run.env["EXECFLOW_NODE_INDEX"], tests.run.env["EXECFLOW_NODE_TOTAL"]) == (
        "2",
        "2",
    )
    # Commands are the platform's: execflow's templating gives them back as they were.
    assert render(tests.run.command, {}) == ["pytest", "-k", "{{ not_a_template }}"]
    assert tests.retry is not None and tests.retry.max_attempts == 3
    assert tests.timeout is not None and tests.timeout.attempt == 600
    meta = tests.metadata
    assert meta is not None
    assert meta["execution"] == {
        "id": str(execution_id),
        "suiteId": "app",
        "profile": "staging",
        "backend": "local",
    }
    assert meta["suite"] == {
        "id": "app",
        "title": "App",
        "repository": "git@example.com:app.git",
        "version": 1,
        "digest": app.digest,
    }
    assert meta["headers"] == {"X-Tenant": "acme"}
    assert meta["backend"] == {"name": "local", "type": "local", "queue": None}
    assert (meta["index"], meta["total"], meta["source"]) == (2, 2, None)
    assert meta["node"] == {
        "id": "tests",
        "dependsOn": ["database"],
        "command": ["pytest", "-k", "{{ not_a_template }}"],
        "retries": 2,
    }
    assert start.metadata is not None
    assert start.metadata["source"]["resolvedRef"] == "db@1"


def test_agents_run_processes_on_their_queue() -> None:
    app = suite("app", node("one", image="busybox"))
    agents = Backend(name="lab", type="remote-agent", queue="lab-boxes")
    profile = Profile(name="p", updated_at=NOW)
    spec = workflow(uuid4(), app, resolve(app, Catalog.of([app])), profile, agents)
    only = spec.steps[0]
    assert only.run is not None and only.run.image is None
    assert spec.queue(only) == "lab-boxes"
