"""What `execflow run FILE` submits: a request body from a JSON or YAML file."""

import json
from pathlib import Path
from typing import Any

import yaml


class BadWorkflowFile(ValueError):
    """The file or an --input cannot become a request body; the message says why."""


def request_body(path: Path, inputs: list[str]) -> dict[str, Any]:
    """The file is a whole request (`workflow`, `input`, `metadata`) or just a workflow
    (`steps`); each `--input k=v` sets `input.k` (v parsed as JSON when it is JSON)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise BadWorkflowFile(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise BadWorkflowFile(f"{path} is not valid {path.suffix[1:] or 'YAML'}: {exc}") from None
    except RecursionError:  # both parsers recurse at each level of nesting
        raise BadWorkflowFile(f"{path} nests too deeply to be read") from None
    if not isinstance(data, dict):
        raise BadWorkflowFile(f"{path} must hold an object with `steps` or `workflow`")
    body = {"workflow": data} if "steps" in data else dict(data)
    if inputs:
        given = body.get("input") or {}
        if not isinstance(given, dict):
            raise BadWorkflowFile("--input needs the file's `input` to be an object")
        body["input"] = given | dict(parse_input(i) for i in inputs)
    return body


def parse_input(item: str, option: str = "--input") -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise BadWorkflowFile(f"{option} takes key=value, not {item!r}")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw
