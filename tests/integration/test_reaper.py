"""The reaper on a real Docker engine and a real worker registry: what it removes, what
it spares."""

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import docker
import pytest

from execflow_contracts import (
    ATTEMPT_LABEL,
    DEPLOYMENT_LABEL,
    EXECUTION_LABEL,
    STEP_LABEL,
    WORKER_LABEL,
    RunSpec,
    StepWork,
    Topology,
    WorkerInfo,
)
from execflow_platform import connect, ensure_registry, register
from execflow_runner.backends import ContainerPolicy, DockerBackend
from execflow_runner.reaper import Reaper
from execflow_runner.wiring import live_worker_ids

from .test_docker_backend import until

pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest.fixture
def deployment(deployment_cleanup: list[str]) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:12]}"
    deployment_cleanup.extend([name, f"{name}-other"])
    yield name


def leftover(
    client: docker.DockerClient, image: str, deployment: str, worker: str, step: str = "s"
) -> str:
    """A running container as a crashed runner would have left it."""
    container = client.containers.run(
        image,
        ["sleep", "300"],
        detach=True,
        network_mode="none",
        labels={
            DEPLOYMENT_LABEL: deployment,
            EXECUTION_LABEL: str(uuid.uuid4()),
            STEP_LABEL: step,
            ATTEMPT_LABEL: "1",
            WORKER_LABEL: worker,
        },
    )
    return str(container.id)


def existing(client: docker.DockerClient, deployment: str) -> set[str]:
    found = client.api.containers(all=True, filters={"label": f"{DEPLOYMENT_LABEL}={deployment}"})
    return {c["Id"] for c in found}


async def test_the_reaper_removes_orphans_and_spares_what_runs(
    nats_url: str,
    docker_client: docker.DockerClient,
    busybox_image: str,
    deployment: str,
    tmp_path: Path,
) -> None:
    nc = await connect(nats_url, "test")
    js, topology = nc.jetstream(), Topology(deployment)
    kv = await ensure_registry(js, topology, ttl_s=30)
    now = datetime.now(UTC)
    await register(
        kv,
        WorkerInfo(
            id="alive",
            host="h",
            pid=1,
            queues=["default"],
            backends=["docker"],
            capacity=1,
            started_at=now,
            last_heartbeat=now,
        ),
    )
    backend = DockerBackend(docker_client, ContainerPolicy("me", deployment), stop_grace_s=1)

    def reaper(orphan_after_s: float) -> Reaper:
        return Reaper(
            docker_client, backend, lambda: live_worker_ids(js, topology), orphan_after_s, 60
        )

    step = StepWork(
        execution_id=uuid.uuid4(),
        step_id="running",
        attempt=1,
        queue="default",
        run=RunSpec(command=["sleep", "300"], image=busybox_image),
        dispatched_at=now,
    )
    running = asyncio.create_task(backend.run(step, tmp_path, lambda *_: None, lambda: None))
    try:
        mine = leftover(docker_client, busybox_image, deployment, "me")
        dead = leftover(docker_client, busybox_image, deployment, "dead")
        alive = leftover(docker_client, busybox_image, deployment, "alive")
        elsewhere = leftover(docker_client, busybox_image, f"{deployment}-other", "me")
        await until(lambda: len(existing(docker_client, deployment)) == 4)
        (active,) = existing(docker_client, deployment) - {mine, dead, alive}

        # A dead runner's container is spared while younger than the TTL (a runner may
        # be just starting), reaped once older.
        assert await reaper(orphan_after_s=60).reap() == [mine]
        assert await reaper(orphan_after_s=0).reap() == [dead]

        assert existing(docker_client, deployment) == {active, alive}
        assert existing(docker_client, f"{deployment}-other") == {elsewhere}
    finally:
        await backend.stop_step(step.execution_id, step.step_id)
        await running
        backend.close()
        await nc.close()
