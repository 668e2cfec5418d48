"""What flows between scheduler and runners besides commands: work and log lines."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from .queues import QueueName, queue_key
from .specs import OutputMode, RunSpec, StepId
from .subjects import Topology


class StepWork(BaseModel):
    """One attempt of one step, leased by a runner (or a function worker) from the WORK
    stream."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    execution_id: UUID
    step_id: StepId
    attempt: int
    queue: QueueName
    run: RunSpec
    dispatched_at: datetime
    priority: int = 0
    output: OutputMode = "report"
    # The registered workflow the execution runs, if any (metrics by workflow).
    workflow_id: str | None = None
    # Whose execution it is (None: `default`'s): the secrets its `env` names are that
    # namespace's.
    namespace: str | None = None

    @property
    def dedupe_id(self) -> str:
        return f"work:{self.execution_id}:{self.step_id}:{self.attempt}"

    @property
    def queue_key(self) -> str:
        """Its queue as the bus names it: its namespace's (see `queues`)."""
        return queue_key(self.namespace, self.queue)

    def subject(self, topology: Topology) -> str:
        """Where it waits: its namespace's queue, or a function's within it."""
        if self.run.function is not None:
            return topology.function_work(self.queue_key, self.run.function)
        return topology.work(self.queue_key)


LogStream = Literal["stdout", "stderr"]


class LogLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    stream: LogStream
    at: datetime
    text: str


class LogChunk(BaseModel):
    """Consecutive lines of one step attempt; `seq` orders lines across chunks."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    execution_id: UUID
    step_id: StepId
    attempt: int
    # Which delivery of the attempt ran: a runner taking over after a lost one starts
    # its numbering again.
    delivery: int = 1
    lines: list[LogLine] = Field(min_length=1)

    @property
    def dedupe_id(self) -> str:
        where = f"{self.execution_id}:{self.step_id}:{self.attempt}:{self.delivery}"
        return f"log:{where}:{self.lines[0].seq}"


# A chunk must fit in one bus message (NATS refuses more than 1 MB unless configured
# otherwise) even if each character of its text takes six bytes in JSON (`\u0001`):
# lines are shipped in pieces of at most MAX_LINE_TEXT characters, and a chunk is sent
# once it holds MAX_CHUNK_TEXT.
MAX_LINE_TEXT = 32 * 1024
MAX_CHUNK_TEXT = 96 * 1024
MAX_LINES_PER_CHUNK = 200


def line_pieces(text: str) -> list[str]:
    """The line, or its pieces if it is longer than MAX_LINE_TEXT."""
    if len(text) <= MAX_LINE_TEXT:
        return [text]
    return [text[i : i + MAX_LINE_TEXT] for i in range(0, len(text), MAX_LINE_TEXT)]


def chunk_full(lines: int, text: int) -> bool:
    """Whether a chunk of `lines` lines holding `text` characters is to be sent."""
    return lines >= MAX_LINES_PER_CHUNK or text >= MAX_CHUNK_TEXT
