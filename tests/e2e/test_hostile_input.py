"""What a client sends cannot stop execflow for anyone else: templates and conditions
that run away fail their own step, within a second, with the reason; bodies are bounded
before they are parsed, YAML's aliases too; an artifact key outside its execution's
place in the store is refused where it enters and never served."""

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import httpx

from execflow_contracts import ReportStepFacts, StepFact, Topology
from execflow_devstack import Stack
from execflow_ops.dead_letters import DeadLetter, listed
from execflow_platform import ServiceSettings, connect

from .conftest import create, sh, wait_finished, wait_for, wait_status

# The API's default bound (EXECFLOW_API_MAX_BODY_BYTES).
MAX_BODY = 2 * 1024 * 1024

LOOPS = (
    "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)
CEL_LOOPS = "inputs.l.map(a, inputs.l.map(b, inputs.l.map(c, a + b + c))).size() > 0"


def seconds(body: dict[str, str], start: str, end: str) -> float:
    return (datetime.fromisoformat(body[end]) - datetime.fromisoformat(body[start])).total_seconds()


def test_runaway_templates_and_conditions_fail_their_step_and_stop_no_one(
    api: httpx.Client,
) -> None:
    hostile = {
        "loops": ({"steps": [sh("bad", f"echo {LOOPS}")]}, "took longer than 0.5s"),
        "memory": ({"steps": [sh("bad", "echo {{ 'x' * 10**10 }}")]}, "needs more than 512 MiB"),
        "cel": ({"steps": [sh("bad", "true", when=CEL_LOOPS)]}, "took longer than 0.5s"),
    }
    for name, (workflow, reason) in hostile.items():
        bad = create(api, {"workflow": workflow, "input": {"l": list(range(1000))}})
        # Sent right after it: served while (or as soon as) the bad one fails.
        good = create(api, {"workflow": {"steps": [sh("good", "true")]}})
        body = wait_finished(api, bad)
        assert body["status"] == "failed", (name, body)
        assert body["error"]["kind"] == "template", (name, body["error"])
        assert reason in body["error"]["message"], (name, body["error"])
        assert seconds(body, "created_at", "completed_at") < 1.0, (name, body)
        done = wait_finished(api, good)
        assert done["status"] == "completed"
        assert seconds(done, "created_at", "completed_at") < 2.0, (name, done)


def test_a_body_over_the_limit_is_refused_before_it_is_parsed(api: httpx.Client) -> None:
    # Valid JSON, a little over the bound: refused for its size alone.
    body = json.dumps({"workflow": {"steps": [sh("a", "true")]}, "input": {"x": "y" * MAX_BODY}})
    declared = api.post(
        "/api/v1/executions", content=body, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json() == {
        "error": "body_too_large",
        "reason": f"the body has {len(body)} bytes; at most {MAX_BODY} are read",
    }

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for _ in range(2 * MAX_BODY // 65536):
            yield b" " * 65536

    streamed = api.post(
        "/api/v1/executions", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["reason"] == (
        f"the body has more than {MAX_BODY} bytes; at most that is read"
    )
    # Below the bound, the same route answers as before.
    assert create(api, {"workflow": {"steps": [sh("a", "true")]}})


LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)),
        "steps: [{id: s, run: {command: [echo, *i]}}]",
    ]
)


def test_yaml_whose_aliases_expand_past_the_bound_is_refused(api: httpx.Client) -> None:
    yaml_type = {"content-type": "application/yaml"}
    laughs = api.post("/api/v1/workflows", content=f"id: laughs\n{LAUGHS}", headers=yaml_type)
    assert laughs.status_code == 413
    assert "expands (through its aliases) to more than 100000 values" in laughs.json()["reason"]
    # The API served others meanwhile, and aliases within the bound are read.
    shared = "id: shared\nsteps:\n- {id: a, run: {command: [echo], env: &e {A: b}}}\n"
    shared += "- {id: b, run: {command: [echo], env: *e}}\n"
    registered = api.post("/api/v1/workflows", content=shared, headers=yaml_type)
    assert registered.status_code == 201, registered.text
    steps = api.get("/api/v1/workflows/shared").json()["steps"]
    assert steps[1]["run"]["env"] == {"A": "b"}


def test_a_forged_artifact_key_is_refused_and_never_served(api: httpx.Client, stack: Stack) -> None:
    script = (
        "echo mine > mine.txt;"
        """ echo '{"type":"artifact","name":"mine","path":"mine.txt"}' >> "$EXECFLOW_EVENTS";"""
        " while [ ! -e go ]; do sleep 0.05; done"
    )
    execution_id = create(api, {"workflow": {"steps": [sh("s", script)]}})
    wait_status(api, execution_id, "running")
    # What a runner (or anyone on the bus) could send: a key out of the store's prefix.
    forged = ReportStepFacts.model_construct(
        execution_id=UUID(execution_id),
        step_id="s",
        attempt=1,
        delivery=1,
        worker="forger",
        sequence=1000,
        facts=[
            StepFact.model_construct(
                kind="artifact",
                at=datetime.now(UTC),
                name="passwd",
                path="passwd",
                artifact_kind="file",
                status="stored",
                key="../../../../../../etc/passwd",
                size=10,
            )
        ],
    )
    settings = ServiceSettings(nats_url=stack.config.nats_url, bus_prefix=stack.config.bus_prefix)
    asyncio.run(send_raw(settings, forged))
    wait_for(lambda: any(forged_letter(settings, execution_id)), what="the forged report parked")
    (letter,) = forged_letter(settings, execution_id)
    assert "is not under" in letter.reason, letter.reason
    (stack.config.work_dir / execution_id / "go").touch()
    body = wait_finished(api, execution_id)
    assert body["status"] == "completed"
    assert [a["name"] for a in body["artifacts"]] == ["mine"]
    served = api.get(f"/api/v1/executions/{execution_id}/artifacts/passwd")
    assert served.status_code == 404
    assert api.get(f"/api/v1/executions/{execution_id}/artifacts/mine").text == "mine\n"


async def send_raw(settings: ServiceSettings, report: ReportStepFacts) -> None:
    nc = await connect(settings.nats_url, "forger")
    try:
        subject = Topology(settings.bus_prefix).command(report.execution_id, "ReportStepFacts")
        await nc.jetstream().publish(subject, report.model_dump_json().encode())
    finally:
        await nc.close()


def forged_letter(settings: ServiceSettings, execution_id: str) -> list[DeadLetter]:
    letters = asyncio.run(listed(settings, 100))
    return [d for d in letters if execution_id.encode() in d.data and b"forger" in d.data]
