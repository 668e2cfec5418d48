"""The worker registry: a JetStream key-value bucket, one key per live runner.

A key expires `ttl_s` after its last write (the bucket's max age), so a runner that
stops heartbeating disappears without anyone cleaning up after it.

The live runners are listed from the bucket's stream: the server's own count of messages
by subject is one consistent snapshot of the keys. nats-py's `kv.keys()` lists them with
a watcher, which now and then misses a key written at that moment, or every key
(NoKeysError): 2 listings in 300 while one key was rewritten every 10 ms. A runner then
vanished from `/workers` for a poll, and another runner's reaper took it for dead.
"""

import logging

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.client import KV_PRE_TEMPLATE, KV_STREAM_TEMPLATE
from nats.js.errors import BadRequestError, BucketNotFoundError, KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue
from pydantic import ValidationError

from execflow_contracts import Topology, WorkerInfo

log = logging.getLogger(__name__)

KV_DUPLICATE_WINDOW_S = 120.0


async def ensure_registry(js: JetStreamContext, topology: Topology, ttl_s: float) -> KeyValue:
    """Create the bucket, or give it this TTL: runners of a deployment should agree on it."""
    config = KeyValueConfig(
        bucket=topology.workers_bucket, history=1, ttl=ttl_s, storage=StorageType.FILE
    )
    try:
        return await js.create_key_value(config)
    except BadRequestError:  # it exists with another TTL
        kv = await js.key_value(topology.workers_bucket)
        stream = (await kv.status()).stream_info.config
        log.warning("worker registry TTL was %ss, now %ss", stream.max_age, ttl_s)
        stream.max_age = ttl_s
        # As a new bucket would have it: JetStream refuses a window beyond the max age.
        stream.duplicate_window = min(ttl_s, KV_DUPLICATE_WINDOW_S)
        await js.update_stream(stream)
        return kv


async def open_registry(js: JetStreamContext, topology: Topology) -> KeyValue | None:
    """The bucket, or None while no runner has ever registered."""
    try:
        return await js.key_value(topology.workers_bucket)
    except BucketNotFoundError:
        return None


async def register(kv: KeyValue, info: WorkerInfo) -> None:
    await kv.put(info.id, info.model_dump_json().encode())


async def deregister(kv: KeyValue, worker_id: str) -> None:
    await kv.delete(worker_id)


async def live_workers(js: JetStreamContext, topology: Topology) -> list[WorkerInfo]:
    """Every registration that has not expired, by id (none while no runner ever
    registered)."""
    keys = await _keys(js, topology.workers_bucket)
    kv = await open_registry(js, topology) if keys else None
    if kv is None:
        return []
    workers = []
    for key in keys:
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:  # expired or deleted since we listed it
            continue
        if entry.value:
            try:
                workers.append(WorkerInfo.model_validate_json(entry.value))
            except ValidationError as exc:  # a newer runner's shape we cannot read: skip it
                log.warning("unreadable registration %s: %s", key, exc)
    return workers


async def _keys(js: JetStreamContext, bucket: str) -> list[str]:
    prefix = KV_PRE_TEMPLATE.format(bucket=bucket)  # a key is a subject of the bucket's stream
    try:
        info = await js.stream_info(
            KV_STREAM_TEMPLATE.format(bucket=bucket), subjects_filter=f"{prefix}>"
        )
    except NotFoundError:
        return []
    return sorted(subject.removeprefix(prefix) for subject in info.state.subjects or {})
