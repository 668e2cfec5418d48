"""A resolved topology as execflow step specs: each step runs its node's command on the
chosen backend and carries, in its `metadata`, what the test platform's step specs say
(execution and suite, profile, env and headers, backend, the source of a nested node,
its index and the total, and the node's whole definition)."""

import json
from typing import Any
from uuid import UUID

from execflow_contracts import (
    Resources,
    RetryPolicy,
    RunSpec,
    StepSpec,
    StepTimeout,
    WorkflowSpec,
)

from .models import Backend, Profile, Suite, node_definition
from .topology import Resolved


def literal(text: str) -> str:
    """`text` as execflow's templates render it back: a node's command is the test
    platform's, with no templating of ours ("{{" in it stays "{{")."""
    if "{{" not in text and "{%" not in text:
        return text
    return "".join("{{ '{' }}" if char == "{" else char for char in text)


def workflow(
    execution_id: UUID,
    suite: Suite,
    nodes: list[Resolved],
    profile: Profile,
    backend: Backend,
) -> WorkflowSpec:
    shared = {
        "execution": {
            "id": str(execution_id),
            "suiteId": suite.id,
            "profile": profile.name,
            "backend": backend.name,
        },
        "suite": {
            "id": suite.id,
            "title": suite.title,
            "repository": suite.repository,
            "version": suite.version,
            "digest": suite.digest,
        },
        "profile": {"name": profile.name, "runtime": profile.runtime.model_dump(mode="json")},
        "headers": profile.headers,
        "backend": backend.model_dump(mode="json"),
    }
    total = len(nodes)
    return WorkflowSpec(
        steps=[
            step(resolved, index, total, shared, profile, backend)
            for index, resolved in enumerate(nodes, start=1)
        ]
    )


def step(
    resolved: Resolved,
    index: int,
    total: int,
    shared: dict[str, Any],
    profile: Profile,
    backend: Backend,
) -> StepSpec:
    node = resolved.node
    assert node.command is not None  # nested suites are expanded into their nodes
    env = profile.env | node.env | platform_variables(resolved, index, total, shared)
    runtime = profile.runtime
    # Agents run processes; the other backends run a container when there is an image.
    image = None if backend.type == "remote-agent" else node.image or runtime.image
    limits = image is not None and (runtime.cpus is not None or runtime.memory is not None)
    timeout = node.timeout if node.timeout is not None else runtime.timeout
    return StepSpec(
        id=resolved.step_id,
        needs=resolved.needs,
        run=RunSpec(
            command=[literal(part) for part in node.command],
            env={key: literal(value) for key, value in env.items()},
            workdir=literal(node.workdir) if node.workdir else None,
            image=image,
            resources=Resources(cpus=runtime.cpus, memory=runtime.memory) if limits else None,
        ),
        queue=backend.queue,
        timeout=StepTimeout(attempt=timeout) if timeout is not None else None,
        retry=RetryPolicy(max_attempts=node.retries + 1) if node.retries else None,
        metadata=shared
        | {
            "env": env,
            "source": resolved.source,
            "index": index,
            "total": total,
            "node": node_definition(node),
        },
    )


def platform_variables(
    resolved: Resolved, index: int, total: int, shared: dict[str, Any]
) -> dict[str, str]:
    """What a step learns of its launch from its environment."""
    return {
        "EXECFLOW_SUITE_ID": shared["suite"]["id"],
        "EXECFLOW_PROFILE": shared["profile"]["name"],
        "EXECFLOW_BACKEND": shared["backend"]["name"],
        "EXECFLOW_NODE": resolved.step_id,
        "EXECFLOW_NODE_INDEX": str(index),
        "EXECFLOW_NODE_TOTAL": str(total),
        "EXECFLOW_REQUEST_HEADERS": json.dumps(shared["headers"], sort_keys=True),
    }
