"""Embedded NATS and PostgreSQL, and the services as processes: for `execflow up` and
for the tests. It imports none of the services (it starts them as programs)."""

from .browser import CHROMIUM, CHROMIUM_ARGS
from .nats_server import NatsServer
from .ports import free_port, wait_for_port
from .postgres import EmbeddedPostgres, ensure_database
from .processes import SERVICES, ServiceProcess, Stack, StackConfig

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "SERVICES",
    "EmbeddedPostgres",
    "NatsServer",
    "ServiceProcess",
    "Stack",
    "StackConfig",
    "ensure_database",
    "free_port",
    "wait_for_port",
]
