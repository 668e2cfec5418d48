"""What a chaos run proves once it has settled: the ledger of step runs, the read
models against a rebuild from the event store, and the EVENTS stream against it."""

import asyncio
import itertools
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from execflow_contracts import MSG_ID_HEADER, Topology
from execflow_platform import connect, ensure_schema, fetch, schema_conninfo
from execflow_projector.rebuild import READ_MODELS, drop_schemas, replay
from execflow_projector.schema import migrate as migrate_read_models
from execflow_scheduler.history import StoredEvents
from execflow_scheduler.settings import SchedulerSettings
from execflow_scheduler.wiring import build_application

READ_MODEL_TABLES = tuple(t for model in READ_MODELS.values() for t in model.tables)


@dataclass
class Ledger:
    runs: int = 0
    concurrent: list[str] = field(default_factory=list)  # a run found another one alive
    overlapping: list[str] = field(default_factory=list)  # two finished runs overlapped
    after_success: list[str] = field(default_factory=list)  # began after it had succeeded
    reruns: int = 0  # steps that ran more than once (at least once: allowed)


def ledger(path: Path, database_url: str, schema: str) -> Ledger:
    found = Ledger()
    runs: dict[tuple[str, str], list[tuple[float, float, str]]] = defaultdict(list)
    lines = path.read_text().splitlines() if path.exists() else []
    for line in lines:
        execution_id, step_id, attempt, pid, began, ended = line.split(",")
        found.runs += 1
        if began == "concurrent":
            found.concurrent.append(f"{execution_id}/{step_id} attempt {attempt} (pid {pid})")
            continue
        runs[(execution_id, step_id)].append((float(began), float(ended), f"{attempt}/{pid}"))
    succeeded = _succeeded_at(database_url, schema)
    for (execution_id, step_id), spans in runs.items():
        spans.sort()
        if len(spans) > 1:
            found.reruns += 1
        for (_, end, first), (start, _, second) in itertools.pairwise(spans):
            if start < end:
                found.overlapping.append(f"{execution_id}/{step_id}: {first} and {second}")
        done = succeeded.get((execution_id, step_id))
        for start, _, which in spans:
            if done is not None and start > done:
                found.after_success.append(f"{execution_id}/{step_id}: {which}")
    return found


def _succeeded_at(database_url: str, schema: str) -> dict[tuple[str, str], float]:
    with psycopg.connect(schema_conninfo(database_url, schema)) as conn:
        rows = conn.execute(
            "SELECT execution_id::text, step_id, extract(epoch FROM finished_at)::float8"
            " FROM steps WHERE status = 'succeeded' AND finished_at IS NOT NULL"
        ).fetchall()
    return {(e, s): at for e, s, at in rows}


def read_models_differ(database_url: str, schema: str) -> dict[str, int]:
    """Rows that differ, per table, between the live read models and the same models
    replayed from the event store into a fresh schema (nothing differs: {})."""
    staging = f"{schema}_check_{uuid.uuid4().hex[:6]}"
    migrate_read_models(database_url, staging)
    app = build_application(SchedulerSettings(database_url=database_url, db_schema=schema))
    try:
        asyncio.run(_replay_into(database_url, staging, StoredEvents(app)))
        return {
            table: count
            for table in READ_MODEL_TABLES
            if (count := _difference(database_url, schema, staging, table))
        }
    finally:
        app.close()
        drop_schemas(database_url, staging)


async def _replay_into(database_url: str, staging: str, store: StoredEvents) -> None:
    conninfo = schema_conninfo(database_url, staging)
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        await replay(conn, store, 0, READ_MODELS.values())


def _difference(database_url: str, live: str, rebuilt: str, table: str) -> int:
    def rows(schema: str) -> str:
        return f"SELECT to_jsonb(t) - 'projected_at' FROM {schema}.{table} t"

    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            f"SELECT (SELECT count(*) FROM ({rows(live)} EXCEPT ALL {rows(rebuilt)}) a)"
            f" + (SELECT count(*) FROM ({rows(rebuilt)} EXCEPT ALL {rows(live)}) b)"
        ).fetchone()
    return int(row[0]) if row else 0


@dataclass
class StreamCheck:
    stored: int  # events in the event store
    in_stream: int  # messages in EVENTS
    missing: int  # stored, not in the stream
    repeated: int  # in the stream more than once


def stream_against_store(nats_url: str, database_url: str, schema: str, prefix: str) -> StreamCheck:
    ensure_schema(database_url, schema)
    app = build_application(SchedulerSettings(database_url=database_url, db_schema=schema))
    try:
        store = StoredEvents(app)
        stored = {event.dedupe_id for _, event in store.events(0, store.head())}
    finally:
        app.close()
    seen = asyncio.run(_stream_ids(nats_url, Topology(prefix)))
    counts: dict[str, int] = defaultdict(int)
    for msg_id in seen:
        counts[msg_id] += 1
    return StreamCheck(
        stored=len(stored),
        in_stream=len(seen),
        missing=len(stored - counts.keys()),
        repeated=sum(1 for n in counts.values() if n > 1),
    )


async def _stream_ids(nats_url: str, topology: Topology) -> list[str]:
    nc = await connect(nats_url, "execflow-chaos-check")
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(topology.events_stream)
        except NotFoundError:
            return []  # lost, and never made again
        total = info.state.messages
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=60
        )
        subscription = await js.pull_subscribe(
            topology.all_events, stream=topology.events_stream, config=config
        )
        ids: list[str] = []
        while len(ids) < total:
            batch = await fetch(subscription, 1000, 2.0)
            if not batch:
                break
            ids += [(m.headers or {}).get(MSG_ID_HEADER, "") for m in batch]
        await subscription.unsubscribe()
        return ids
    finally:
        await nc.close()


def as_json(value: object) -> str:
    return json.dumps(value, indent=2, default=lambda o: o.__dict__)
