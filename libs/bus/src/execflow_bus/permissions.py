"""What each part of execflow may publish and subscribe to on NATS: least privilege.

One NATS user per part (scheduler, projector, api, runner, function worker), each
allowed only its own subjects (read from the server's trace of the whole e2e suite, then
kept to what the code does): only the scheduler publishes events and work; a runner
publishes step reports and log lines and reads its queues; the api publishes commands.
An `admin` user (provisioning, `execflow dead-letters|repair|chaos`) may do anything.

JetStream is a request/reply API on `$JS.API.>` subjects, so a permission there is a
permission for one operation on one stream or consumer: a user reads a stream through
its own consumers (`CONSUMER.*.<stream>.<consumer>`, their `MSG.NEXT` and `$JS.ACK`),
and no part but the scheduler may purge a stream or delete from one. Every part may
make and read the deployment's streams (each one remakes a stream NATS lost, see
`StreamKeeper`); a stream's subjects cannot overlap another's, so that does not let a
part capture subjects it may not publish to.

Replies come to inboxes: each user's are its own (`_INBOX.<user>.>`, see `inbox_prefix`),
so one part cannot read what JetStream answers another.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from execflow_contracts import StepReport, Topology

NATS_ADMIN = "admin"
SCHEDULER, PROJECTOR, API, RUNNER, WORKER = "scheduler", "projector", "api", "runner", "worker"
# The users `execflow up` makes, one per part (admin aside).
NATS_PARTS = (SCHEDULER, PROJECTOR, API, RUNNER, WORKER)

JS_API = "$JS.API"
INBOX = "_INBOX"


@dataclass(frozen=True)
class Permissions:
    publish: list[str] = field(default_factory=list)
    subscribe: list[str] = field(default_factory=list)

    def as_config(self) -> dict[str, dict[str, list[str]]]:
        """As nats-server's `permissions` block of a user."""
        return {"publish": {"allow": self.publish}, "subscribe": {"allow": self.subscribe}}


def inbox_prefix(nats_url: str) -> str:
    """Where a client connecting with `nats_url` gets its replies: under its user's name
    (`_INBOX.<user>`), which its permissions allow and no other user's do."""
    user = urlsplit(nats_url.split(",", maxsplit=1)[0]).username
    return f"{INBOX}.{user}" if user else INBOX


def nats_permissions(topology: Topology) -> dict[str, Permissions]:
    """Every part's permissions on the deployment of `topology`."""
    return {
        SCHEDULER: _scheduler(topology),
        PROJECTOR: _projector(topology),
        API: _api(topology),
        RUNNER: _runner(topology),
        WORKER: _worker(topology),
    }


def _streams(topology: Topology) -> list[str]:
    t = topology
    return [t.commands_stream, t.events_stream, t.work_stream, t.logs_stream, t.dlq_stream]


def _every_part(topology: Topology, user: str) -> Permissions:
    """Making and reading the deployment's streams; the user's own inbox."""
    streams = [*_streams(topology), topology.advisories_stream]
    verbs = ("INFO", "CREATE", "UPDATE")
    return Permissions(
        publish=[f"{JS_API}.INFO", *(f"{JS_API}.STREAM.{v}.{s}" for v in verbs for s in streams)],
        subscribe=[f"{INBOX}.{user}.>"],
    )


def _consumer(stream: str, name: str) -> list[str]:
    """Making, binding and reading a durable pull consumer, and acknowledging."""
    api = f"{JS_API}.CONSUMER"
    return [
        f"{api}.INFO.{stream}.{name}",
        f"{api}.CREATE.{stream}.{name}",
        f"{api}.CREATE.{stream}.{name}.>",
        f"{api}.DURABLE.CREATE.{stream}.{name}",
        f"{api}.MSG.NEXT.{stream}.{name}",
        f"$JS.ACK.{stream}.{name}.>",
    ]


def _following(stream: str) -> list[str]:
    """An ordered (ephemeral, push) consumer of `stream`, as live views and stops use."""
    return [f"{JS_API}.CONSUMER.CREATE.{stream}", f"$JS.FC.{stream}.>"]


def _reading(stream: str) -> list[str]:
    return [f"{JS_API}.STREAM.MSG.GET.{stream}", f"{JS_API}.DIRECT.GET.{stream}.>"]


def _registry(topology: Topology) -> list[str]:
    """The worker registry (a key-value bucket): registering, reading who is live."""
    stream = f"KV_{topology.workers_bucket}"
    verbs = ("INFO", "CREATE", "UPDATE")
    return [
        *(f"{JS_API}.STREAM.{v}.{stream}" for v in verbs),
        *_reading(stream),
        f"$KV.{topology.workers_bucket}.>",
    ]


def _reports(topology: Topology) -> list[str]:
    """A step's reports: the only commands its holder sends."""
    return [topology.commands_of_type(report.__name__) for report in _subclasses(StepReport)]


def _subclasses(cls: type[StepReport]) -> Iterable[type[StepReport]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _with(base: Permissions, publish: Iterable[str]) -> Permissions:
    return Permissions([*base.publish, *publish], base.subscribe)


def _scheduler(t: Topology) -> Permissions:
    return _with(
        _every_part(t, SCHEDULER),
        [
            t.all_events,
            t.all_work,
            t.all_dead_letters,
            # Children, schedules' fires, timers and lost work are commands to itself.
            t.all_commands,
            # Outcomes, to the inbox the sender named (Execflow-Reply-To).
            f"{INBOX}.>",
            *_consumer(t.commands_stream, t.scheduler_consumer),
            *_consumer(t.advisories_stream, t.scheduler_advisories_consumer),
            # Retention purges an execution's messages; lost work is read and dropped.
            f"{JS_API}.STREAM.PURGE.{t.events_stream}",
            f"{JS_API}.STREAM.PURGE.{t.logs_stream}",
            *_reading(t.work_stream),
            f"{JS_API}.STREAM.MSG.DELETE.{t.work_stream}",
        ],
    )


def _projector(t: Topology) -> Permissions:
    consumers = [
        (t.events_stream, t.projector_events_consumer),
        (t.logs_stream, t.projector_logs_consumer),
        # Retired, found and removed (see the projector's `retired`).
        (t.events_stream, t.projector_event_log_consumer),
    ]
    return _with(
        _every_part(t, PROJECTOR),
        [
            t.all_dead_letters,
            *(p for stream, name in consumers for p in _consumer(stream, name)),
            # It moves its consumers to where its read models are (deleting them).
            *(f"{JS_API}.CONSUMER.DELETE.{stream}.{name}" for stream, name in consumers),
            *_reading(t.events_stream),
            *_reading(t.logs_stream),
        ],
    )


def _holder(t: Topology, user: str) -> Permissions:
    """What a holder of work needs: its queues' consumers (any on WORK: a queue is any
    name), step reports, log lines, stops (following EVENTS), the registry."""
    return _with(
        _every_part(t, user),
        [
            *_reports(t),
            t.all_logs,
            t.all_dead_letters,
            *_consumer(t.work_stream, "*"),
            *_following(t.events_stream),
            *_reading(t.events_stream),
            *_registry(t),
        ],
    )


def _runner(t: Topology) -> Permissions:
    return _holder(t, RUNNER)


def _worker(t: Topology) -> Permissions:
    return _holder(t, WORKER)


def _api(t: Topology) -> Permissions:
    # It holds remote agents' work as a runner does (reports and logs included), and
    # sends every command a client may.
    holder = _holder(t, API)
    return _with(
        holder,
        [
            t.all_commands,
            f"{JS_API}.CONSUMER.LIST.{t.work_stream}",
            *_following(t.logs_stream),
            *_reading(t.logs_stream),
        ],
    )
