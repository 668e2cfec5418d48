"""Embedded NATS and PostgreSQL, provisioning and service processes for `execflow up`
and for the tests."""

from .nats_server import NatsServer
from .ports import free_port, wait_for_port
from .postgres import EmbeddedPostgres, ensure_database
from .processes import SERVICES, ServiceProcess, Stack, StackConfig
from .provision import provision
from .up import up

__all__ = [
    "SERVICES",
    "EmbeddedPostgres",
    "NatsServer",
    "ServiceProcess",
    "Stack",
    "StackConfig",
    "ensure_database",
    "free_port",
    "provision",
    "up",
    "wait_for_port",
]
