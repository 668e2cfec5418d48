"""kubectl's table output: it asks for a `Table` (`Accept: …;as=Table;g=meta.k8s.io`)
and prints the columns the server chose, as for a CRD's printer columns."""

from datetime import datetime
from typing import Any

from .translate import age

COLUMNS = [
    ("Name", "string", "name", "The execution's name"),
    ("Function", "string", "", "The registered function (workflow) it runs"),
    ("Phase", "string", "", "Pending, Executing, Suspended, Backoff, Completed, Failed, Canceled"),
    ("Worker", "string", "", "Where its latest step started"),
    ("Attempts", "integer", "", "Attempts of the run so far"),
    ("Age", "string", "", "Since it was created"),
]


def wanted(accept: str | None) -> bool:
    return accept is not None and "as=Table" in accept


def row(item: dict[str, Any]) -> dict[str, Any]:
    status, meta = item["status"], item["metadata"]
    created = datetime.fromisoformat(meta["creationTimestamp"].replace("Z", "+00:00"))
    return {
        "cells": [
            meta["name"],
            item["spec"]["function"],
            status["phase"],
            status.get("workerName") or "",
            len(status.get("attempts", [])),
            age(created),
        ],
        "object": {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
        },
    }


def table(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": [
            {"name": name, "type": kind, "format": fmt, "description": text, "priority": 0}
            for name, kind, fmt, text in COLUMNS
        ],
        "rows": [row(item) for item in items],
    }
