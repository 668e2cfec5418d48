"""execflow's subjects with their variable tokens named (`{execution_id}`), as FastStream
writes a subject with path parameters: for the document, and for subscribing to a
token's every value."""

from typing import cast
from uuid import UUID

from execflow_contracts import Topology

EXECUTION = cast(UUID, "{execution_id}")


def command(topology: Topology, name: str) -> str:
    return topology.command(EXECUTION, name)


def event(topology: Topology, name: str) -> str:
    return topology.event(EXECUTION, name)


def work(topology: Topology) -> str:
    return topology.work("{queue}")


def function_work(topology: Topology) -> str:
    return topology.function_work("{queue}", "{function}")


def log(topology: Topology) -> str:
    return topology.log(EXECUTION, "{step_id}")


def dead_letter(topology: Topology) -> str:
    return topology.dead_letter("{source}")


def registry_key(topology: Topology) -> str:
    """A worker's key in the registry (a key-value bucket: a subject of its stream)."""
    return f"$KV.{topology.workers_bucket}.{{worker_id}}"
