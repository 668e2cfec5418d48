"""Is an attempt over already? Asked of work that comes again (its holder died, or lost
its lease, after the attempt ended): the events stream says whether the attempt
succeeded, failed or was asked to stop, so that its work is not run a second time.

Only redelivered work asks (a round trip per event of the step's kinds, read by the
server's subject index), so the first delivery costs nothing."""

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from execflow_contracts import (
    StepFailed,
    StepStopRequested,
    StepSucceeded,
    StepWork,
    Topology,
    parse_event,
)

ENDINGS = (StepSucceeded, StepFailed, StepStopRequested)


async def attempt_over(js: JetStreamContext, topology: Topology, work: StepWork) -> str | None:
    """Why the work's attempt is over (`StepSucceeded`, …), or None if it is not."""
    for ending in ENDINGS:
        subject = topology.event(work.execution_id, ending.__name__)
        sequence = 1
        while True:
            try:
                found = await js.get_msg(
                    topology.events_stream, sequence, subject=subject, next=True
                )
            except NotFoundError:
                break
            sequence = (found.seq or sequence) + 1
            try:
                event = parse_event(found.data or b"")
            except ValidationError:
                continue
            if (
                isinstance(event, ENDINGS)
                and event.step_id == work.step_id
                and event.attempt == work.attempt
            ):
                return type(event).__name__
    return None
