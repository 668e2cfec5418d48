"""execflow on NATS JetStream, without a database: what the services and the function
workers share (streams, publishing with deadlines, pulling, the step reporter, stops and
answers, the worker registry). A user's service that runs a worker installs this, not
the services' PostgreSQL runtime (`execflow_platform`)."""

from .bus import (
    DEFAULT_STREAM_BUDGET,
    STREAM_BUDGET_VARIABLE,
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
from .controls import StepControls
from .delivery import Publisher
from .leases import LeaseKeeper
from .log_shipping import STEP_LOG_MAX_BYTES, LogShipper
from .permissions import NATS_ADMIN, NATS_PARTS, Permissions, inbox_prefix, nats_permissions
from .pulling import fetch
from .registration import Registration
from .registry import deregister, ensure_registry, live_workers, open_registry, register
from .reporting import StepReporter
from .retrying import log_retries, retrying
from .settled import attempt_over
from .slots import Slots, take_work
from .stream_keeper import StreamKeeper
from .taking import (
    CannotTell,
    fetch_work,
    may_start,
    maybe_run_before,
    reason_not_to_run,
    work_to_start,
)

__all__ = [
    "DEFAULT_STREAM_BUDGET",
    "NATS_ADMIN",
    "NATS_PARTS",
    "STEP_LOG_MAX_BYTES",
    "STREAM_BUDGET_VARIABLE",
    "CannotTell",
    "LeaseKeeper",
    "LogShipper",
    "Outgoing",
    "Permissions",
    "Publisher",
    "Registration",
    "Slots",
    "StepControls",
    "StepReporter",
    "StreamKeeper",
    "attempt_over",
    "command_limit",
    "command_message",
    "connect",
    "consume",
    "dead_letter",
    "deregister",
    "durable_pull_consumer",
    "ensure_registry",
    "ensure_streams",
    "fetch",
    "fetch_work",
    "inbox_prefix",
    "live_workers",
    "log_retries",
    "may_start",
    "maybe_run_before",
    "message_limit",
    "nats_permissions",
    "open_registry",
    "publish_all",
    "publish_one",
    "pull_subscription",
    "reason_not_to_run",
    "register",
    "resuming_pull_consumer",
    "retrying",
    "stream_configs",
    "take_work",
    "work_consumer",
    "work_to_start",
]
