"""Every stream, subject, consumer and header name, defined once.

A `Topology` is parameterised by a prefix so that several deployments (or
tests) can share one NATS server without seeing each other's messages.
"""

from dataclasses import dataclass
from uuid import UUID

from .queues import SEPARATOR as QUEUE_SEPARATOR

MSG_ID_HEADER = "Nats-Msg-Id"
DLQ_REASON_HEADER = "Execflow-Dlq-Reason"
# On a dead letter: the subject it came from (where a replay sends it again).
DLQ_SOURCE_HEADER = "Source"
# Where the scheduler answers a command whose sender waits for the outcome.
REPLY_TO_HEADER = "Execflow-Reply-To"
# On work sent again from the event store (its stream was lost): its attempt may have
# run already, and a runner checks before it runs it.
REDISPATCHED_HEADER = "Execflow-Redispatched"
# The W3C trace context of the span that sent the message (see execflow_telemetry).
TRACEPARENT_HEADER = "traceparent"


FUNCTION_INFIX = ".fn."


@dataclass(frozen=True)
class Topology:
    prefix: str = "execflow"

    # Streams
    @property
    def commands_stream(self) -> str:
        return f"{self._stream_prefix}_COMMANDS"

    @property
    def events_stream(self) -> str:
        return f"{self._stream_prefix}_EVENTS"

    @property
    def work_stream(self) -> str:
        return f"{self._stream_prefix}_WORK"

    @property
    def logs_stream(self) -> str:
        return f"{self._stream_prefix}_LOGS"

    @property
    def advisories_stream(self) -> str:
        """JetStream's advisories that execflow acts on, kept until it has."""
        return f"{self._stream_prefix}_ADVISORIES"

    @property
    def work_max_deliveries(self) -> str:
        """Said by JetStream of work delivered as often as it may be, unfinished."""
        return f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{self.work_stream}.*"

    @property
    def dlq_stream(self) -> str:
        return f"{self._stream_prefix}_DLQ"

    # Key-value buckets
    @property
    def workers_bucket(self) -> str:
        """The worker registry: one key per live runner, expiring with its heartbeats."""
        return f"{self._stream_prefix}_WORKERS"

    # Subjects
    def command(self, execution_id: UUID, name: str) -> str:
        return f"{self.prefix}.cmd.{execution_id}.{name}"

    def commands_of_type(self, name: str) -> str:
        """One kind of command, to any execution (what a user may send, see permissions)."""
        return f"{self.prefix}.cmd.*.{name}"

    @property
    def all_commands(self) -> str:
        return f"{self.prefix}.cmd.>"

    def event(self, execution_id: UUID, name: str) -> str:
        return f"{self.prefix}.evt.{execution_id}.{name}"

    @property
    def all_events(self) -> str:
        return f"{self.prefix}.evt.>"

    def events_of(self, execution_id: UUID) -> str:
        """Every event of one execution (what retention purges)."""
        return f"{self.prefix}.evt.{execution_id}.*"

    def logs_of(self, execution_id: UUID) -> str:
        """Every log chunk of one execution's steps."""
        return f"{self.prefix}.log.{execution_id}.*"

    def events_of_type(self, name: str) -> str:
        return f"{self.prefix}.evt.*.{name}"

    def work(self, queue: str) -> str:
        """Where the work of a queue (by its key: `name`, or `namespace/name`) waits:
        `<prefix>.work.name`, or `<prefix>.work.namespace.name`."""
        return f"{self.prefix}.work.{_token_path(queue)}"

    def function_work(self, queue: str, function: str) -> str:
        """Work for a function step: apart from the runners' (whose consumers take
        `work(queue)` exactly), one subject per function, so that it waits in its queue
        until a worker serving that function takes it."""
        return f"{self.work(queue)}{FUNCTION_INFIX}{function}"

    def queue_of_work(self, subject: str) -> tuple[str, str | None]:
        """(queue key, function or None) of a work subject: `work`'s and
        `function_work`'s inverse. (A namespace's queue has one token more than
        `default`'s, and a function's subject `.fn.` and its name, so none is ambiguous.)"""
        path = subject.removeprefix(self.work(""))
        # The last `.fn.`: a function's name holds no dot, but a queue may be named `fn`.
        queue_path, infix, function = path.rpartition(FUNCTION_INFIX)
        if not infix:
            return path.replace(".", QUEUE_SEPARATOR), None
        return queue_path.replace(".", QUEUE_SEPARATOR), function

    @property
    def all_work(self) -> str:
        return f"{self.prefix}.work.>"

    def log(self, execution_id: UUID, step_id: str) -> str:
        return f"{self.prefix}.log.{execution_id}.{step_id}"

    @property
    def all_logs(self) -> str:
        return f"{self.prefix}.log.>"

    def dead_letter(self, source: str) -> str:
        return f"{self.prefix}.dlq.{source}"

    @property
    def all_dead_letters(self) -> str:
        return f"{self.prefix}.dlq.>"

    # Durable consumers
    @property
    def scheduler_consumer(self) -> str:
        return "scheduler"

    @property
    def projector_events_consumer(self) -> str:
        """Feeds the executions and the event log, in one transaction per batch."""
        return "projector-events"

    @property
    def projector_logs_consumer(self) -> str:
        return "projector-logs"

    @property
    def projector_event_log_consumer(self) -> str:
        """Retired: the event log's own consumer before it joined the events consumer.
        Named still so that a projector can find what an earlier version left, and remove it."""
        return "projector-event-log"

    @property
    def scheduler_advisories_consumer(self) -> str:
        return "scheduler-advisories"

    def runner_consumer(self, queue: str) -> str:
        return f"runner-{_name_part(queue)}"

    def function_consumer(self, queue: str, function: str) -> str:
        """Shared by every worker serving the function on the queue: each step goes to one.
        (The queue's length keeps `a-b` + `c` apart from `a` + `b-c`.)"""
        return f"function-{len(queue)}-{_name_part(queue)}-{function}"

    @property
    def _stream_prefix(self) -> str:
        return self.prefix.upper().replace("-", "_")


def _token_path(queue: str) -> str:
    """A queue key as subject tokens: a namespace's queue is a token deeper."""
    return queue.replace(QUEUE_SEPARATOR, ".")


def _name_part(queue: str) -> str:
    """A queue key within a consumer's name (which may hold neither `.` nor `/`)."""
    return queue.replace(QUEUE_SEPARATOR, ":")
