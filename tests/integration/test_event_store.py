"""The scheduler's event store on a real PostgreSQL: a save stores its events and
returns their notification ids in order, and sends no NOTIFY (which would make every
notifying commit in the database, the projector's change notices among them, queue
behind it)."""

from uuid import uuid4

import psycopg

from execflow_contracts import CreateExecution
from execflow_scheduler.settings import SchedulerSettings
from execflow_scheduler.wiring import build_application

from ..conftest import Names

TWO_STEPS = {
    "steps": [
        {"id": "a", "run": {"command": ["true"]}},
        {"id": "b", "run": {"command": ["true"]}, "needs": ["a"]},
    ]
}


def test_a_save_stores_its_events_in_order_and_notifies_no_one(
    database_url: str, provisioned: Names
) -> None:
    app = build_application(
        SchedulerSettings(database_url=database_url, db_schema=provisioned.schema)
    )
    recorder = app.recorder
    with psycopg.connect(database_url, autocommit=True) as listener:
        # The channel the library's own insert function notifies.
        listener.execute(f'LISTEN "{recorder.channel_name}"')
        execution_id = uuid4()
        recordings, _ = app.handle(
            [CreateExecution(execution_id=execution_id, workflow=TWO_STEPS, actor="t")]
        )
        heard = list(listener.notifies(timeout=0.5))
    assert heard == []
    ids = [r.notification.id for r in recordings]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    stored = recorder.select_notifications(ids[0], len(ids))
    assert [n.id for n in stored] == ids
    assert [n.originator_id for n in stored] == [execution_id] * len(ids)
    assert [n.originator_version for n in stored] == list(range(1, len(ids) + 1))
