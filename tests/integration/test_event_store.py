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


NEW, OLD = "execflow_scheduler.domain.events:", "execflow_scheduler.domain.execution:Execution."


def test_events_stored_under_the_aggregates_old_topics_load_as_they_did(
    database_url: str, provisioned: Names
) -> None:
    # Before the events had a module of their own they were classes inside the
    # aggregate: a store written then names those topics.
    settings = SchedulerSettings(database_url=database_url, db_schema=provisioned.schema)
    app = build_application(settings)
    execution_id = uuid4()
    try:
        app.handle([CreateExecution(execution_id=execution_id, workflow=TWO_STEPS, actor="t")])
        expected = app.get(execution_id)
        table = app.recorder.events_table_name
    finally:
        app.close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        renamed = conn.execute(
            f"UPDATE {provisioned.schema}.{table} SET topic = replace(topic, %s, %s)"
            " WHERE originator_id = %s AND topic LIKE %s",
            (NEW, OLD, execution_id, f"{NEW}%"),
        ).rowcount
    assert renamed >= 2  # at least the queued and dispatched events
    fresh = build_application(settings)
    try:
        loaded = fresh.get(execution_id)
    finally:
        fresh.close()
    assert loaded.version == expected.version
    assert loaded.status == expected.status
    assert loaded.steps == expected.steps
