"""Remote agents: workers that speak HTTP to the API instead of NATS."""

from .control import AgentControl
from .leases import Lease, Leases

__all__ = ["AgentControl", "Lease", "Leases"]
