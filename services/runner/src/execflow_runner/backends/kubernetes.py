"""The Kubernetes backend: each container step's attempt as a Job (lightkube), its pod's
log streamed as the step's lines, its container's exit code as the outcome; a stop
deletes the Job (the pod gets SIGTERM, then SIGKILL after the grace period). The values of
the secrets a step names go in a Secret of the attempt, made before its Job and owned by
it once the Job exists; the backend deletes both when the attempt ends.

Off unless the runner is configured for it (`EXECFLOW_KUBERNETES=on`); it then runs the
runner's container steps in place of the Docker engine. Untested against a live cluster
(none can run where it was written): its manifests are checked against Kubernetes' own
schemas, its calls are lightkube's documented ones.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lightkube import ApiError, AsyncClient, codecs
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Pod, Secret
from lightkube.types import CascadeType, PatchType

from execflow_contracts import ATTEMPT_LABEL, EXECUTION_LABEL, STEP_LABEL, StepWork

from .base import AttemptKey, LineSink, Outcome, exit_outcome
from .jobs import JobPolicy, job_manifest, job_name, owned_by_job, secret_manifest, secret_name

log = logging.getLogger(__name__)

POLL_S = 0.5
# A pod that cannot start its container (its image cannot be pulled, say) fails the
# attempt with the reason after this long, rather than waiting for ever.
START_DEADLINE_S = 300.0
CANNOT_START = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerError"}


class KubernetesBackend:
    def __init__(self, client: AsyncClient, policy: JobPolicy, stop_grace_s: float = 10.0):
        self._client = client
        self.policy = policy
        self._stop_grace_s = stop_grace_s
        # The Job of each attempt running here, and those being stopped.
        self._jobs: dict[AttemptKey, str] = {}
        self._stopping: set[AttemptKey] = set()

    async def run(
        self,
        work: StepWork,
        workspace: Path,
        on_line: LineSink,
        on_started: Callable[[], None],
        env: dict[str, str] | None = None,
    ) -> Outcome:
        key = AttemptKey.of(work)
        if refusal := self.policy.containers.refusal(work.run.image or ""):
            return Outcome(None, refusal, "start")
        nonce = uuid.uuid4().hex[:8]
        manifest = job_manifest(work, nonce, workspace, self.policy, env)
        secret = secret_manifest(work, nonce, self.policy, env)
        name = manifest["metadata"]["name"]
        try:
            # A runner that lost this attempt's lease left its Job running: one at a time.
            await self._delete_earlier(manifest["metadata"]["labels"])
            await self._create(manifest, secret)
        except ApiError as exc:
            await self._delete(name, grace_s=0)  # and a Secret made before the Job failed
            return Outcome(None, f"cannot create Job {name}: {exc.status.message}", "start")
        self._jobs[key] = name
        try:
            return await self._follow(key, name, work, on_line, on_started)
        except ApiError as exc:  # the cluster refused: say so, do not retry blindly
            return Outcome(None, f"Kubernetes failed the step: {exc.status.message}")
        finally:
            self._jobs.pop(key, None)
            self._stopping.discard(key)
            await self._delete(name, grace_s=0)

    async def _create(self, manifest: dict[str, Any], secret: dict[str, Any] | None) -> None:
        """The Job, and before it its Secret (its pod cannot start without it), which is
        then made the Job's: deleted by Kubernetes with it, even if this runner dies."""
        if secret is not None:
            await self._client.create(codecs.from_dict(secret))
        job = await self._client.create(codecs.from_dict(manifest))
        uid = job.metadata.uid if job.metadata else None
        if secret is not None and uid is not None:
            name = manifest["metadata"]["name"]
            await self._client.patch(
                Secret,
                secret["metadata"]["name"],
                owned_by_job(name, uid),
                namespace=self.policy.namespace,
                patch_type=PatchType.MERGE,
            )

    async def stop(self, key: AttemptKey, grace_s: float) -> bool:
        """Delete the attempt's Job if it runs here; its `run` then ends, as stopped."""
        name = self._jobs.get(key)
        if name is None:
            return False
        self._stopping.add(key)
        await self._delete(name, grace_s)
        return True

    async def _follow(
        self,
        key: AttemptKey,
        name: str,
        work: StepWork,
        on_line: LineSink,
        on_started: Callable[[], None],
    ) -> Outcome:
        pod, waiting = await self._started_pod(key, name)
        if pod is None:
            why = waiting or "stopped before it started"
            return Outcome(None, f"cannot start {work.run.image!r}: {why}", "start")
        on_started()
        # Kubernetes merges the container's stdout and stderr: its lines are stdout.
        async for line in self._client.log(pod, namespace=self.policy.namespace, follow=True):
            on_line("stdout", line.rstrip("\n"))
        terminated = await self._terminated(pod)
        if key in self._stopping:
            return Outcome(None, "stopped", "signal")
        if terminated is None:
            return Outcome(None, "the pod went away while it ran")
        code = int(terminated.exitCode)
        if code != 0 and terminated.reason == "OOMKilled":
            limit = self.policy.containers.memory_limit(work)
            return Outcome(code, f"out of memory: killed at its memory limit ({limit})", "signal")
        return exit_outcome(code)

    async def _started_pod(self, key: AttemptKey, name: str) -> tuple[str | None, str | None]:
        """The Job's pod once its container runs (or has run); else None and why not."""
        deadline = time.monotonic() + START_DEADLINE_S
        why: str | None = None
        while key not in self._stopping and time.monotonic() < deadline:
            pods = [
                pod
                async for pod in self._client.list(
                    Pod, namespace=self.policy.namespace, labels={"job-name": name}
                )
            ]
            for pod in pods:
                state = container_state(pod)
                if state is not None and (state.running or state.terminated):
                    return pod.metadata.name if pod.metadata else None, None
                if state is not None and state.waiting and state.waiting.reason in CANNOT_START:
                    why = f"{state.waiting.reason}: {state.waiting.message or ''}".strip(": ")
            await asyncio.sleep(POLL_S)
        return None, why or (None if key in self._stopping else "no pod started in time")

    async def _terminated(self, pod_name: str) -> Any:
        """How the container ended (its exit code and reason), once it has."""
        while True:
            try:
                pod = await self._client.get(Pod, pod_name, namespace=self.policy.namespace)
            except ApiError as exc:
                if exc.status.code == 404:
                    return None
                raise
            state = container_state(pod)
            if state is not None and state.terminated is not None:
                return state.terminated
            await asyncio.sleep(POLL_S)

    async def _delete_earlier(self, labels: dict[str, str]) -> None:
        attempt: dict[str, Any] = {
            label: labels[label] for label in (EXECUTION_LABEL, STEP_LABEL, ATTEMPT_LABEL)
        }
        earlier = self._client.list(Job, namespace=self.policy.namespace, labels=attempt)
        async for job in earlier:
            if job.metadata and job.metadata.name:
                log.info("deleting Job %s of a lost delivery", job.metadata.name)
                await self._delete(job.metadata.name, grace_s=0)
        # A lost delivery's Secret whose Job was never made, or not yet its owner.
        secrets = self._client.list(Secret, namespace=self.policy.namespace, labels=attempt)
        async for secret in secrets:
            if secret.metadata and secret.metadata.name:
                await self._delete_secret(secret.metadata.name)

    async def _delete(self, name: str, grace_s: float) -> None:
        """The Job `name`, and its Secret (which Kubernetes would delete with it, later)."""
        with contextlib.suppress(ApiError):  # gone already
            await self._client.delete(
                Job,
                name,
                namespace=self.policy.namespace,
                grace_period=int(grace_s),
                cascade=CascadeType.BACKGROUND,
            )
        await self._delete_secret(secret_name(name))

    async def _delete_secret(self, name: str) -> None:
        with contextlib.suppress(ApiError):  # gone already, or never made (no secrets)
            await self._client.delete(Secret, name, namespace=self.policy.namespace)


def container_state(pod: Pod) -> Any:
    statuses = (pod.status.containerStatuses if pod.status else None) or []
    return statuses[0].state if statuses else None


__all__ = ["KubernetesBackend", "job_name"]
