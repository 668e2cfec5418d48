"""What a client sends cannot stop execflow for anyone else: templates and conditions
that run away fail their own step, within a second, with the reason."""

from datetime import datetime

import httpx

from .conftest import create, sh, wait_finished

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
