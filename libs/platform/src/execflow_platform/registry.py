"""The worker registry: a JetStream key-value bucket, one key per live runner.

A key expires `ttl_s` after its last write (the bucket's max age), so a runner that
stops heartbeating disappears without anyone cleaning up after it.
"""

import logging

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BadRequestError, BucketNotFoundError, KeyNotFoundError, NoKeysError
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


async def live_workers(kv: KeyValue) -> list[WorkerInfo]:
    """Every registration that has not expired, by id."""
    try:
        keys = await kv.keys()
    except NoKeysError:
        return []
    workers = []
    for key in sorted(keys):
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
