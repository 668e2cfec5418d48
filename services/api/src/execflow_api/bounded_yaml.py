"""YAML read with bounds: on its size, and on the size of the data its aliases make.

An alias is a reference to a node written once: nine levels of ten aliases each (the
"billion laughs") are a few hundred bytes that are a billion values once anything walks
them (validating them, storing them as JSON). The document is composed into nodes
first, each node's expanded size counted once (aliased nodes share theirs), and only a
document whose expansion stays under `MAX_NODES` is made into data. Plain data only
(the safe loader: no objects). It takes a while in pure Python, so callers run it off
the event loop.
"""

from typing import Any

import yaml

# A workflow definition's YAML, at most (a JSON body may be larger).
MAX_BYTES = 512 * 1024
# Values (scalars, lists, maps) the document holds with its aliases expanded, at most.
MAX_NODES = 100_000

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlRefused(ValueError):
    """Too large, or expanding to too much; the message says which."""


def load(raw: bytes) -> Any:
    if len(raw) > MAX_BYTES:
        raise YamlRefused(f"the YAML document has {len(raw)} bytes; at most {MAX_BYTES}")
    loader = _Loader(raw)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded(node, {})
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values `node` is with its aliases expanded; raises YamlRefused past
    MAX_NODES. `sizes`: those of nodes counted already (an alias is the same node)."""
    if id(node) in sizes:
        return sizes[id(node)]
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded(item, sizes) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded(k, sizes) + _expanded(v, sizes) for k, v in node.value)
    if size > MAX_NODES:
        raise YamlRefused(
            f"the YAML document expands (through its aliases) to more than {MAX_NODES} values"
        )
    sizes[id(node)] = size
    return size
