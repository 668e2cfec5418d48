"""A suite's topology resolved into a flat, ordered list of nodes: nested suites are
expanded in place (their nodes named `<alias>__<node>`), dependencies on a nested suite
become dependencies on its last nodes, and its first nodes inherit the dependencies of
the node that imported it. Pure: the suites come in a `Catalog`."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .models import NESTED_SEPARATOR, Node, Suite, SuiteIn

MAX_NESTING = 16
MAX_STEP_ID = 64


class TopologyError(ValueError):
    """A topology that cannot be resolved; the message says where and why."""


def digest(suite: SuiteIn) -> str:
    """The content address of a suite's definition: equal definitions, equal digests."""
    body = suite.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Catalog:
    """Every version of every suite, by id and version."""

    versions: dict[str, dict[int, Suite]] = field(default_factory=dict)

    @classmethod
    def of(cls, suites: Iterable[Suite]) -> "Catalog":
        catalog = cls()
        for suite in suites:
            catalog.versions.setdefault(suite.id, {})[suite.version] = suite
        return catalog

    def latest(self) -> list[Suite]:
        return [by_version[max(by_version)] for by_version in self.versions.values()]

    def get(self, suite_id: str, ref: str = "latest") -> Suite | None:
        by_version = self.versions.get(suite_id)
        if not by_version:
            return None
        return by_version.get(max(by_version) if ref == "latest" else int(ref))


@dataclass(frozen=True)
class Resolved:
    """A node to run: its step id, its needs, and where it came from when nested."""

    step_id: str
    node: Node
    needs: list[str]
    source: dict[str, Any] | None


def resolve(suite: Suite, catalog: Catalog) -> list[Resolved]:
    resolved: list[Resolved] = []
    _expand(suite, catalog, "", None, [suite.id], [], resolved)
    return resolved


def _expand(
    suite: Suite,
    catalog: Catalog,
    prefix: str,
    source: dict[str, Any] | None,
    chain: list[str],
    entry_needs: list[str],
    out: list[Resolved],
) -> list[str]:
    """Append the suite's nodes to `out`; the step ids others depending on it need."""
    exits: dict[str, list[str]] = {}
    for node in ordered(suite):
        needs = [step for d in node.depends_on for step in exits[d]] or list(entry_needs)
        if node.suite is None:
            step_id = _step_id(prefix + node.id)
            out.append(Resolved(step_id, node, needs, source))
            exits[node.id] = [step_id]
            continue
        nested = _nested(suite, node, catalog, chain)
        imported = {
            "suite": nested.id,
            "alias": prefix + node.id,
            "ref": node.suite.ref,
            "resolvedRef": f"{nested.id}@{nested.version}",
            "digest": nested.digest,
        }
        inner = prefix + node.id + NESTED_SEPARATOR
        exits[node.id] = _expand(nested, catalog, inner, imported, [*chain, nested.id], needs, out)
    depended = {d for node in suite.topology.nodes for d in node.depends_on}
    return [
        step for node in suite.topology.nodes if node.id not in depended for step in exits[node.id]
    ]


def _nested(suite: Suite, node: Node, catalog: Catalog, chain: list[str]) -> Suite:
    assert node.suite is not None
    wanted = node.suite
    where = f"suite '{suite.id}', node '{node.id}'"
    if wanted.id in chain:
        raise TopologyError(f"{where}: suite '{wanted.id}' imports itself ({' -> '.join(chain)})")
    if len(chain) >= MAX_NESTING:
        raise TopologyError(f"{where}: suites nest more than {MAX_NESTING} deep")
    nested = catalog.get(wanted.id, wanted.ref)
    if nested is None:
        raise TopologyError(f"{where}: no suite '{wanted.id}' at {wanted.ref}")
    return nested


def _step_id(step_id: str) -> str:
    if len(step_id) > MAX_STEP_ID:
        raise TopologyError(f"node '{step_id}': a nested node's name is at most {MAX_STEP_ID} long")
    return step_id


def ordered(suite: SuiteIn) -> list[Node]:
    """The nodes with each after those it depends on, otherwise in the author's order."""
    nodes = suite.topology.nodes
    ids = [n.id for n in nodes]
    if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
        raise TopologyError(f"suite '{suite.id}': duplicate nodes: {', '.join(duplicates)}")
    for node in nodes:
        if unknown := [d for d in node.depends_on if d not in ids]:
            where = f"suite '{suite.id}', node '{node.id}'"
            raise TopologyError(f"{where} depends on unknown nodes: {', '.join(unknown)}")
    done: list[Node] = []
    placed: set[str] = set()
    while len(done) < len(nodes):
        ready = [n for n in nodes if n.id not in placed and set(n.depends_on) <= placed]
        if not ready:
            stuck = ", ".join(n.id for n in nodes if n.id not in placed)
            raise TopologyError(f"suite '{suite.id}' has a dependency cycle among: {stuck}")
        done += ready
        placed |= {n.id for n in ready}
    return done
