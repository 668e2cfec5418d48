"""Where steps run: `process` by default, `docker` for steps that name an image."""

from .base import AttemptKey, Backend, Outcome
from .containers import ContainerPolicy
from .docker import DockerBackend, remove_container
from .process import ProcessBackend
from .router import Backends

__all__ = [
    "AttemptKey",
    "Backend",
    "Backends",
    "ContainerPolicy",
    "DockerBackend",
    "Outcome",
    "ProcessBackend",
    "remove_container",
]
