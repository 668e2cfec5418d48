"""Shared runtime of execflow services: settings, the database, lifecycle; and the bus
(`execflow_bus`, re-exported here for the services)."""

from execflow_bus import (
    Outgoing,
    StepControls,
    StepReporter,
    command_limit,
    command_message,
    connect,
    consume,
    dead_letter,
    deregister,
    durable_pull_consumer,
    ensure_registry,
    ensure_streams,
    fetch,
    live_workers,
    message_limit,
    open_registry,
    publish_all,
    publish_one,
    pull_subscription,
    register,
    resuming_pull_consumer,
    retrying,
    stream_configs,
)

from .artifacts import ArtifactSettings, ArtifactStore
from .changes import ChangeFeed, Watch, WatchAll, changes_channel, notify_changed
from .database import ensure_schema, eventsourcing_env, schema_conninfo
from .lifecycle import (
    configure_logging,
    freeze_loaded_objects,
    run_service,
    run_until_stopped,
    service_command,
)
from .settings import ServiceSettings
from .settled import attempt_over
from .stream_keeper import StreamKeeper

__all__ = [
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
]
