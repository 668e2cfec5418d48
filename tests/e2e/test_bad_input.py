"""Bad input gets a 4xx with a reason, never a 500; nothing is created."""

import json
import uuid
from typing import Any

import httpx
import pytest

from .conftest import create, logs_until, sh, wait_finished


def step(step_id: str, *needs: str) -> dict[str, object]:
    return {"id": step_id, "needs": list(needs), "run": {"command": ["true"]}}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"workflow": {"steps": [step("a", "ghost")]}}, "needs unknown steps: ghost"),
        ({"workflow": {"steps": [step("a", "b"), step("b", "a")]}}, "cycle"),
        ({"workflow": {"steps": [step("a"), step("a")]}}, "duplicate step ids: a"),
        ({"workflow": {"steps": []}}, "workflow.steps"),
        ({"workflow": {"steps": [{"id": "a", "run": {"command": []}}]}}, "command"),
        ({"workflow": {"steps": [step("a")]}, "surprise": 1}, "surprise"),
        ({}, "give either `workflow` or `workflow_id`"),
    ],
)
def test_invalid_workflows_are_422_with_the_reason(
    api: httpx.Client, body: dict[str, object], reason: str
) -> None:
    before = api.get("/api/v1/executions", params={"limit": 500}).json()["items"]
    response = api.post("/api/v1/executions", json=body)
    assert response.status_code == 422
    assert reason in response.json()["reason"]
    after = api.get("/api/v1/executions", params={"limit": 500}).json()["items"]
    assert len(after) == len(before)


def test_malformed_json_is_400(api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/executions", content=b'{"workflow": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"


def test_unknown_executions_are_404(api: httpx.Client) -> None:
    unknown = uuid.uuid4()
    for path in ("", "/transitions", "/logs"):
        response = api.get(f"/api/v1/executions/{unknown}{path}")
        assert response.status_code == 404
        assert str(unknown) in response.json()["reason"]


def test_ids_that_are_not_uuids_and_bad_cursors_are_4xx(api: httpx.Client) -> None:
    assert api.get("/api/v1/executions/not-a-uuid").status_code == 422
    assert api.get("/api/v1/executions", params={"cursor": "garbage"}).status_code == 400
    assert api.get("/api/v1/executions", params={"status": "sleepy"}).status_code == 422


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_json_nested_too_deep_is_refused_with_the_reason_and_nothing_created(
    api: httpx.Client,
) -> None:
    before = api.get("/api/v1/executions", params={"limit": 500}).json()["items"]
    workflow = {"steps": [step("a")]}
    too_deep = api.post(
        "/api/v1/executions", json={"workflow": workflow, "input": json.loads(deep(65))}
    )
    assert too_deep.status_code == 422
    assert "input: Value error, nested deeper than 64 levels" in too_deep.json()["reason"]
    beyond_the_parser = api.post(
        "/api/v1/executions",
        content=f'{{"workflow": {json.dumps(workflow)}, "input": {deep(5000)}}}',
        headers={"content-type": "application/json"},
    )
    assert beyond_the_parser.status_code == 400
    after = api.get("/api/v1/executions", params={"limit": 500}).json()["items"]
    assert len(after) == len(before)

    as_json = api.post(
        "/api/v1/workflows",
        content=f'{{"id": "deep", "steps": {deep(5000)}}}',
        headers={"content-type": "application/json"},
    )
    assert as_json.status_code == 400
    assert "nested deeper than 64 levels" in as_json.json()["detail"]
    as_yaml = api.post(
        "/api/v1/workflows",
        content=f"id: deep\nsteps: {deep(5000)}\n",
        headers={"content-type": "application/yaml"},
    )
    assert as_yaml.status_code == 400
    schema = {"id": "deep", "steps": [step("a")], "inputs": {"default": json.loads(deep(64))}}
    deep_schema = api.post("/api/v1/workflows", json=schema)
    assert deep_schema.status_code == 422
    assert "nested deeper than 64 levels" in deep_schema.json()["reason"]
    assert api.get("/api/v1/workflows/deep").status_code == 404


def test_filters_are_refused_before_an_export_begins(api: httpx.Client) -> None:
    # Any value is a string to match: one too deep to parse as JSON is no error.
    listed = api.get("/api/v1/executions", params={"metadata.k": deep(3000)})
    assert (listed.status_code, listed.json()["items"]) == (200, [])
    # A hex id such as "8e123456" reads as a JSON number, infinity: it is matched as text.
    tagged = wait_finished(
        api, create(api, {"workflow": {"steps": [step("a")]}, "metadata": {"k": "8e123456"}})
    )
    for path in ("/api/v1/executions", "/api/v1/history"):
        found = api.get(path, params={"metadata.k": "8e123456"})
        assert found.status_code == 200, found.text
        assert tagged["id"] in found.text
    exported = api.get("/api/v1/history", params={"metadata.": "x"})
    assert exported.status_code == 400
    assert "metadata filters need a key" in exported.json()["detail"]


def test_a_step_output_nested_too_deep_fails_the_step_with_the_reason(api: httpx.Client) -> None:
    too_deep = deep(300)  # beyond what a message can carry, short of the parser's limit
    output_fact = f'{{"type": "output", "value": {too_deep}}}'
    body = {
        "workflow": {
            "steps": [
                sh("declared", f"echo '{output_fact}' >> \"$EXECFLOW_EVENTS\""),
                sh("printed", f"echo '{too_deep}'", "declared", output="stdout-json"),
                sh("after", "true", "printed"),
            ]
        }
    }
    execution_id = create(api, body)
    done = wait_finished(api, execution_id)
    assert done["status"] == "failed"
    steps = {s["id"]: s for s in done["steps"]}
    assert steps["printed"]["status"] == "failed"
    assert "not JSON (nested deeper than 64 levels)" in steps["printed"]["error"]
    assert steps["after"]["status"] == "cancelled"  # the failed execution stopped what waited
    # A fact too deep is ignored with a warning in the log; the step goes on.
    assert steps["declared"]["status"] == "succeeded"
    assert steps["declared"].get("output") is None

    def warned(lines: list[dict[str, Any]]) -> list[str]:
        return [line["step_id"] for line in lines if "nested deeper" in line["line"]]

    assert warned(logs_until(api, execution_id, lambda lines: bool(warned(lines)))) == ["declared"]


def test_nul_characters_are_shown_replaced_and_stop_nothing(api: httpx.Client) -> None:
    # PostgreSQL cannot store U+0000: the read models show U+FFFD in its place, and the
    # projection goes on (a batch holding one used to fail at every try).
    printed = create(
        api,
        {
            "workflow": {"steps": [sh("a", r"printf 'before\000after\n'")]},
            "input": {"k\u0000": "v\u0000"},
            "metadata": {"m": "x\u0000y"},
        },
    )
    done = wait_finished(api, printed)
    assert done["status"] == "completed"
    assert done["input"] == {"k\ufffd": "v\ufffd"}
    assert done["metadata"] == {"m": "x\ufffdy"}
    lines = logs_until(api, printed, lambda lines: len(lines) == 1)
    assert lines[0]["line"] == "before\ufffdafter"
    # A NUL in an argument cannot reach a process: the step fails to start, with the reason.
    unstartable = wait_finished(
        api, create(api, {"workflow": {"steps": [{"id": "a", "run": {"command": ["a\u0000"]}}]}})
    )
    assert unstartable["status"] == "failed"
    assert "embedded null byte" in unstartable["steps"][0]["error"]
    later = wait_finished(api, create(api, {"workflow": {"steps": [step("a")]}}))
    assert later["status"] == "completed"


def test_values_the_database_cannot_store_are_400_with_the_reason(api: httpx.Client) -> None:
    for path, params in [
        ("/api/v1/executions", {"queue": "a\u0000"}),
        ("/api/v1/history", {"q": "\u0000"}),
        ("/api/v1/schedules", {"workflow_id": "\u0000"}),
    ]:
        response = api.get(path, params=params)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["reason"] == "the URL holds a NUL character (%00)"
    too_many = api.put("/api/v1/queues/q", json={"max_running": 2**62})
    assert too_many.status_code == 400
    assert "out of range" in too_many.json()["reason"]
    assert "q" not in [limit["queue"] for limit in api.get("/api/v1/queues").json()["items"]]
    described = api.post(
        "/api/v1/workflows", json={"id": "nul", "description": "\u0000", "steps": [step("a")]}
    )
    assert described.status_code == 400
    assert "\\u0000 cannot be converted to text" in described.json()["reason"]
    assert api.get("/api/v1/workflows/nul").status_code == 404


def test_durations_beyond_a_century_and_lone_surrogates_are_refused(api: httpx.Client) -> None:
    every = api.post("/api/v1/schedules", json={"workflow_id": "w", "every": 5.26e16})
    assert every.status_code == 422
    assert "every: Value error, longer than a century" in every.json()["reason"]
    timeout = api.post(
        "/api/v1/executions",
        json={"workflow": {"timeout": {"overall": "36600d"}, "steps": [step("a")]}},
    )
    assert timeout.status_code == 422
    assert "workflow.timeout.overall" in timeout.json()["reason"]
    half_a_pair = api.post(
        "/api/v1/executions",
        content=b'{"workflow": {"steps": [{"id": "a", "run": {"command": ["true"]}}]},'
        b' "input": "\\ud9a7"}',
        headers={"content-type": "application/json"},
    )
    assert half_a_pair.status_code == 400
    assert "lone UTF-16 surrogate" in half_a_pair.json()["reason"]


LONG_OUTPUT = "import sys; print('x' * 100_000); [print('y' * 10_000) for _ in range(300)]"


def test_long_lines_and_much_output_reach_the_logs_in_pieces(api: httpx.Client) -> None:
    # 3 MB of lines: one chunk of them was more than a bus message holds, and the step
    # never finished.
    body = {
        "workflow": {"steps": [{"id": "a", "run": {"command": ["python3", "-c", LONG_OUTPUT]}}]}
    }
    execution_id = create(api, body)
    assert wait_finished(api, execution_id)["status"] == "completed"
    pieces = 4 + 300  # 100,000 characters in pieces of 32 KiB, then the 300 lines
    # Lines are projected apart from events: they may come a moment after the end.
    lines = logs_until(api, execution_id, lambda lines: len(lines) >= pieces, timeout_s=30)
    assert len(lines) == pieces
    assert "".join(line["line"] for line in lines[:4]) == "x" * 100_000
    assert all(line["line"] == "y" * 10_000 for line in lines[4:])


def test_outputs_larger_than_a_message_holds_fail_the_step_with_the_reason(
    api: httpx.Client,
) -> None:
    big = 'import json; print(json.dumps(["z" * 300_000]))'
    fact = (
        "import json, os; open(os.environ['EXECFLOW_EVENTS'], 'a')"
        ".write(json.dumps({'type': 'output', 'value': 'z' * 263_000}) + '\\n')"
    )
    body = {
        "workflow": {
            "steps": [
                {"id": "declared", "run": {"command": ["python3", "-c", fact]}},
                {
                    "id": "printed",
                    "needs": ["declared"],
                    "output": "stdout-json",
                    "run": {"command": ["python3", "-c", big]},
                },
            ]
        }
    }
    execution_id = create(api, body)
    done = wait_finished(api, execution_id)
    steps = {s["id"]: s for s in done["steps"]}
    assert steps["printed"]["status"] == "failed"
    assert "not JSON (larger than 256 KiB)" in steps["printed"]["error"]
    assert steps["declared"]["status"] == "succeeded"
    assert steps["declared"].get("output") is None

    def warned(lines: list[dict[str, Any]]) -> bool:
        return any("larger than 256 KiB" in line["line"] for line in lines)

    assert warned(logs_until(api, execution_id, warned))


def test_outputs_together_beyond_a_bus_message_stop_nothing(api: httpx.Client) -> None:
    # Five outputs of 250 KB each: the completion carries them all, more than a message
    # holds. Its message leaves them out (the steps' own events carry each); the relay
    # used to stop at it, and every execution behind it.
    print_output = "import json; print(json.dumps('o' * 250_000))"
    step_with_output = {
        "output": "stdout-json",
        "run": {"command": ["python3", "-c", print_output]},
    }
    steps = [{"id": f"s{i}", **step_with_output} for i in range(5)]
    done = wait_finished(api, create(api, {"workflow": {"steps": steps}}))
    assert done["status"] == "completed"
    assert list(done["output"]) == ["$omitted"]
    assert all(len(step["output"]) == 250_000 for step in done["steps"])
    later = wait_finished(api, create(api, {"workflow": {"steps": [step("a")]}}))
    assert later["status"] == "completed"


def test_a_request_beyond_a_bus_message_is_413(api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/executions", json={"workflow": {"steps": [step("a")]}, "input": "i" * 1_000_000}
    )
    assert response.status_code == 413
    assert "as a command; at most 983040 fit" in response.json()["detail"]


def test_a_command_rendered_beyond_its_work_message_fails_the_step(api: httpx.Client) -> None:
    body = {
        # More than a work message once rendered (a bus message, when its dispatch used to
        # stop the relay), less than a template may render (1 MiB).
        "workflow": {"steps": [sh("a", "echo {{ inputs.x }}{{ inputs.x }}{{ inputs.x }}")]},
        "input": {"x": "a" * 100_000},
    }
    done = wait_finished(api, create(api, body))
    assert done["status"] == "failed"
    assert "at most 262144 fit in the step's work message" in done["steps"][0]["error"]
    later = wait_finished(api, create(api, {"workflow": {"steps": [step("a")]}}))
    assert later["status"] == "completed"
