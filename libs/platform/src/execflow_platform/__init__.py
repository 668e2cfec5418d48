"""Shared runtime of execflow services: settings, the bus, the database, lifecycle."""

from . import telemetry
from .artifacts import ArtifactKeyRefused, ArtifactSettings, ArtifactStore
from .bus import (
    Outgoing,
    command_limit,
    command_message,
    connect,
    consume,
    dead_letter,
    durable_pull_consumer,
    ensure_streams,
    message_limit,
    publish_all,
    publish_one,
    pull_subscription,
    resuming_pull_consumer,
    stream_configs,
    work_consumer,
)
from .changes import ChangeFeed, Watch, WatchAll, changes_channel, notify_changed
from .controls import StepControls
from .database import ensure_schema, eventsourcing_env, schema_conninfo
from .lifecycle import (
    configure_logging,
    freeze_loaded_objects,
    run_service,
    run_until_stopped,
    service_command,
)
from .pulling import fetch
from .registry import deregister, ensure_registry, live_workers, open_registry, register
from .reporting import StepReporter
from .retrying import retrying
from .settings import ServiceSettings
from .settled import attempt_over
from .stream_keeper import StreamKeeper

__all__ = [
    "ArtifactKeyRefused",
    "ArtifactSettings",
    "ArtifactStore",
    "ChangeFeed",
    "Outgoing",
    "ServiceSettings",
    "StepControls",
    "StepReporter",
    "StreamKeeper",
    "Watch",
    "WatchAll",
    "attempt_over",
    "changes_channel",
    "command_limit",
    "command_message",
    "configure_logging",
    "connect",
    "consume",
    "dead_letter",
    "deregister",
    "durable_pull_consumer",
    "ensure_registry",
    "ensure_schema",
    "ensure_streams",
    "eventsourcing_env",
    "fetch",
    "freeze_loaded_objects",
    "live_workers",
    "message_limit",
    "notify_changed",
    "open_registry",
    "publish_all",
    "publish_one",
    "pull_subscription",
    "register",
    "resuming_pull_consumer",
    "retrying",
    "run_service",
    "run_until_stopped",
    "schema_conninfo",
    "service_command",
    "stream_configs",
    "telemetry",
    "work_consumer",
]
