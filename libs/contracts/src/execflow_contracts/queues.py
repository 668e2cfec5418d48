"""Queues belong to namespaces.

A queue is named within its namespace (`gpu`); on the bus and in what the scheduler
keeps (work subjects, consumers, the worker registry, queue limits) it is named by its
key: the bare name for `default`'s queues, as before namespaces existed, and
`<namespace>/<name>` for any other namespace's. So two tenants' `gpu` queues are two
queues, and a runner serves another namespace's only when it is told that namespace's
keys (`EXECFLOW_QUEUES=gpu,team-a/gpu`).
"""

import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import Field

DEFAULT_NAMESPACE = "default"
# Lower-case letters, digits and inner dashes: a label that fits a NATS subject token,
# a consumer name and a file name alike.
NAMESPACE_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?"
QUEUE_PATTERN = r"[A-Za-z0-9_-]{1,64}"
SEPARATOR = "/"

NamespaceName = Annotated[str, Field(pattern=rf"^{NAMESPACE_PATTERN}$")]
QueueName = Annotated[str, Field(pattern=rf"^{QUEUE_PATTERN}$")]
QueueKey = Annotated[str, Field(pattern=rf"^(?:{NAMESPACE_PATTERN}{SEPARATOR})?{QUEUE_PATTERN}$")]
_KEY = re.compile(rf"^(?:({NAMESPACE_PATTERN}){SEPARATOR})?({QUEUE_PATTERN})$")


def queue_key(namespace: str | None, queue: str) -> str:
    """The key of `namespace`'s queue `queue` (None: `default`'s)."""
    if namespace is None or namespace == DEFAULT_NAMESPACE:
        return queue
    return f"{namespace}{SEPARATOR}{queue}"


def split_queue_key(key: str) -> tuple[str, str]:
    """(namespace, queue name) of a queue key; ValueError if it is none."""
    found = _KEY.match(key)
    if found is None:
        raise ValueError(f"{key!r} is not a queue ('name', or 'namespace/name')")
    return found.group(1) or DEFAULT_NAMESPACE, found.group(2)


def queues_in(namespace: str, keys: Iterable[str]) -> list[str]:
    """The names of `namespace`'s queues among `keys`, in their order."""
    names = []
    for key in keys:
        owner, name = split_queue_key(key)
        if owner == namespace:
            names.append(name)
    return names
