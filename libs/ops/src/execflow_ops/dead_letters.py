"""`execflow dead-letters list | show | replay`: the messages set aside because they can
never succeed as they are, each with its reason (EXECFLOW_NATS_URL, EXECFLOW_BUS_PREFIX)."""

import json
from dataclasses import dataclass
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from execflow_contracts import DLQ_REASON_HEADER, DLQ_SOURCE_HEADER
from execflow_platform import ServiceSettings, connect


@dataclass(frozen=True)
class DeadLetter:
    sequence: int
    at: datetime | None
    source: str
    reason: str
    data: bytes

    def body(self) -> str:
        try:
            return json.dumps(json.loads(self.data), indent=2)
        except ValueError:
            return self.data.decode(errors="replace")


async def listed(settings: ServiceSettings, limit: int) -> list[DeadLetter]:
    """The oldest `limit` dead letters."""
    nc = await connect(settings.nats_url, "execflow-dead-letters")
    try:
        js = nc.jetstream()
        found: list[DeadLetter] = []
        sequence = 1
        while len(found) < limit:
            try:
                letter = await _get(js, settings, sequence, following=True)
            except NotFoundError:
                break
            found.append(letter)
            sequence = letter.sequence + 1
        return found
    finally:
        await nc.close()


async def shown(settings: ServiceSettings, sequence: int) -> DeadLetter:
    nc = await connect(settings.nats_url, "execflow-dead-letters")
    try:
        return await _get(nc.jetstream(), settings, sequence)
    finally:
        await nc.close()


async def replayed(settings: ServiceSettings, sequence: int) -> DeadLetter:
    """Send the message to where it came from again, and take it out of the dead letters
    (its consumer is idempotent: a message applied before changes nothing)."""
    nc = await connect(settings.nats_url, "execflow-dead-letters")
    try:
        js = nc.jetstream()
        letter = await _get(js, settings, sequence)
        await js.publish(letter.source, letter.data)
        await js.delete_msg(settings.topology.dlq_stream, sequence)
        return letter
    finally:
        await nc.close()


async def _get(
    js: JetStreamContext, settings: ServiceSettings, sequence: int, following: bool = False
) -> DeadLetter:
    raw = await js.get_msg(
        settings.topology.dlq_stream,
        sequence,
        subject=settings.topology.all_dead_letters if following else None,
        next=following,
    )
    headers = raw.headers or {}
    return DeadLetter(
        sequence=raw.seq or sequence,
        at=raw.time,
        source=headers.get(DLQ_SOURCE_HEADER, ""),
        reason=headers.get(DLQ_REASON_HEADER, ""),
        data=raw.data or b"",
    )
