"""The one place where the runner is wired."""

import asyncio
import logging
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from docker import DockerClient
from lightkube import AsyncClient
from nats.js import JetStreamContext

from execflow_contracts import BackendName, Topology, WorkerInfo
from execflow_platform import (
    ArtifactStore,
    Registration,
    StreamKeeper,
    Uploader,
    connect,
    ensure_registry,
    ensure_streams,
    live_workers,
    pull_subscription,
    schema_conninfo,
    work_consumer,
)
from execflow_telemetry.metrics import Watched, watch_consumers

from .backends import Backend, Backends, ContainerPolicy, DockerBackend, ProcessBackend
from .backends.containers import NOT_ROOT
from .backends.jobs import JobPolicy
from .backends.kubernetes import KubernetesBackend
from .docker_engine import open_docker
from .metrics import SLOTS, WorkHook
from .reaper import Reaper
from .sandbox import Sandbox, find_bwrap, reap_orphans
from .secrets import StepSecrets
from .settings import RunnerSettings
from .worker import Subscriber, Worker

log = logging.getLogger(__name__)


async def serve(settings: RunnerSettings, stop: asyncio.Event) -> None:
    topology = settings.topology
    nc = await connect(settings.nats_url, f"execflow-runner-{settings.worker_id}")
    js = nc.jetstream()
    await ensure_streams(js, topology)
    kv = await ensure_registry(js, topology, settings.worker_ttl_s)
    sandbox = await asyncio.to_thread(make_sandbox, settings)
    await asyncio.to_thread(close_work_dir, settings.work_dir)
    docker_client = await open_docker(settings)
    docker = docker_backend(settings, docker_client) if docker_client else None
    available: dict[BackendName, Backend] = {"process": ProcessBackend(sandbox)}
    if docker is not None:
        available["docker"] = docker
    if settings.kubernetes == "on":
        available["kubernetes"] = kubernetes_backend(settings)
    backends = Backends(available)
    # No database URL (a runner `execflow up` starts has no role): no secrets, said so.
    conninfo = schema_conninfo(settings.database_url, settings.db_schema)
    step_secrets = StepSecrets(
        conninfo if settings.database_url else None, settings.secrets_keyring()
    )
    worker = Worker(
        nc,
        topology,
        backends,
        settings.worker_id,
        settings.capacity,
        settings.lease_s,
        settings.stop_grace_s,
        settings.work_dir.resolve(),
        Uploader(ArtifactStore(settings.artifact_store_url), settings.artifact_max_bytes),
        log_max_bytes=settings.step_log_max_bytes,
        secrets=step_secrets,
    )
    registration = Registration(
        kv,
        describe(settings, backends.names),
        worker.running_steps,
        settings.worker_ttl_s,
        lambda: ensure_registry(js, topology, settings.worker_ttl_s),
    )
    await registration.beat()  # registered before any container exists: see the reaper
    background = [asyncio.create_task(registration.keep_alive())]
    try:
        if docker_client is not None and docker is not None:
            reaper = Reaper(
                docker_client,
                docker,
                lambda: live_worker_ids(js, topology),
                orphan_after_s=settings.worker_ttl_s,
                interval_s=settings.docker_reap_interval_s,
            )
            await reaper.reap()  # what a crashed predecessor left, before taking work
            background.append(asyncio.create_task(reaper.keep_reaping()))
        keeper = StreamKeeper(js, topology)
        await keeper.check()
        background.append(asyncio.create_task(keeper.run(stop)))

        def subscriber(queue: str) -> Subscriber:
            config = work_consumer(topology, queue, settings.lease_s, settings.work_max_deliver)
            return lambda: pull_subscription(js, topology.work_stream, config)

        subscribers = [subscriber(queue) for queue in settings.queue_names]
        log.info(
            "runner %s ready on queues %s with backends %s",
            settings.worker_id,
            settings.queue_names,
            backends.names,
        )
        SLOTS.set(settings.capacity)
        if settings.metrics_port is not None:
            background.append(asyncio.create_task(watch_work(settings, js, stop)))
        await worker.run(subscribers, stop, keeper)
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await registration.leave()
        if docker is not None:
            docker.close()
        if docker_client is not None:
            docker_client.close()
        await step_secrets.close()
        await nc.close()


async def watch_work(settings: RunnerSettings, js: JetStreamContext, stop: asyncio.Event) -> None:
    """Its queues' work waiting and leased, and its consumers' lag, for /metrics."""
    topology = settings.topology
    consumers = {topology.runner_consumer(q): q for q in settings.queue_names}
    watched = [Watched(topology.work_stream, consumer) for consumer in consumers]
    await watch_consumers(js, watched, stop, on_read=WorkHook(consumers))


def close_work_dir(work_dir: Path) -> None:
    """The folder of workspaces is the runner's alone: a workspace opened to a container
    step's user (`share_workspace`) is then open to no one else on the host."""
    work_dir.mkdir(parents=True, exist_ok=True)
    try:
        work_dir.chmod(0o700)
    except OSError as exc:  # a volume the runner does not own: say so, and go on
        log.warning("cannot close %s to other users: %s", work_dir, exc)


def make_sandbox(settings: RunnerSettings) -> Sandbox | None:
    """The sandbox of process steps, tried once (raises SandboxUnavailable, saying why);
    None when it is off."""
    if settings.sandbox == "off":
        log.warning("EXECFLOW_SANDBOX=off: process steps run unsandboxed, as %s", os.getuid())
        return None
    hidden = [settings.data_dir, settings.work_dir]
    if "://" not in settings.artifact_store_url:
        hidden.append(Path(settings.artifact_store_url))
    sandbox = Sandbox.make(find_bwrap(), settings.sandbox_read_only_paths, hidden)
    sandbox.check()
    if killed := reap_orphans(settings.work_dir):
        log.warning("killed %d sandboxes a runner before left running: %s", len(killed), killed)
    return sandbox


def container_policy(settings: RunnerSettings) -> ContainerPolicy:
    """Who owns this runner's containers (or Jobs), and the limits they run with."""
    return ContainerPolicy(
        worker_id=settings.worker_id,
        deployment=settings.bus_prefix,
        network=settings.docker_network,
        default_cpus=settings.docker_default_cpus,
        default_memory=settings.docker_default_memory,
        default_pids=settings.docker_default_pids,
        user=settings.docker_user or default_container_user(),
        images=tuple(p.strip() for p in settings.docker_images.split(",") if p.strip()),
    )


def default_container_user() -> str:
    """Not root: the runner's own user, or nobody for a runner run as root."""
    return NOT_ROOT if os.geteuid() == 0 else f"{os.getuid()}:{os.getgid()}"


def docker_backend(settings: RunnerSettings, client: DockerClient) -> DockerBackend:
    return DockerBackend(
        client,
        container_policy(settings),
        stop_grace_s=settings.docker_stop_grace_s,
        pull=settings.docker_pull,
        max_running=settings.capacity,
    )


def kubernetes_backend(settings: RunnerSettings) -> KubernetesBackend:
    """Container steps as Jobs; the client reads its kubeconfig (or the pod's service
    account) now and connects on first use."""
    policy = JobPolicy(
        containers=container_policy(settings),
        namespace=settings.kubernetes_namespace,
        workspace_claim=settings.kubernetes_workspace_claim,
        service_account=settings.kubernetes_service_account,
    )
    client = AsyncClient(namespace=settings.kubernetes_namespace)
    return KubernetesBackend(client, policy, stop_grace_s=settings.stop_grace_s)


def describe(settings: RunnerSettings, backends: list[BackendName]) -> WorkerInfo:
    now = datetime.now(UTC)
    return WorkerInfo(
        id=settings.worker_id,
        host=socket.gethostname(),
        pid=os.getpid(),
        queues=settings.queue_names,
        backends=backends,
        capacity=settings.capacity,
        started_at=now,
        last_heartbeat=now,
    )


async def live_worker_ids(js: JetStreamContext, topology: Topology) -> set[str]:
    return {w.id for w in await live_workers(js, topology)}
