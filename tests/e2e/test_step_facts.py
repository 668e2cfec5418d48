"""The step protocol's facts and the artifact store, through the API."""

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from execflow_devstack import Stack

from .conftest import (
    create,
    logs_until,
    running_stack,
    sh,
    wait_finished,
    wait_for,
    wait_status,
    wait_until,
)

MAX_BYTES = 4096


@pytest.fixture(scope="module")
def stack(
    nats_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("facts")
    env = {"EXECFLOW_ARTIFACT_MAX_BYTES": str(MAX_BYTES)}
    with running_stack(nats_url, database_url, home, env) as running:
        yield running


def fact(line: str) -> str:
    return f"echo '{line}' >> \"$EXECFLOW_EVENTS\";"


def test_actions_screenshots_checkpoints_artifacts_and_a_question(api: httpx.Client) -> None:
    script = " ".join(
        [
            "mkdir -p out shots; echo '<h1>report</h1>' > out/report.html;",
            "printf 'PNG' > shots/one.png; echo '{\"ok\": true}' > result.json;",
            fact('{"type":"progress","current":1,"max":3}'),
            fact('{"type":"action","name":"click","target":"#ok"}'),
            fact('{"type":"action","name":"type","text":"hello"}'),
            fact('{"type":"screenshot","path":"shots/one.png"}'),
            fact('{"type":"checkpoint","name":"logged-in"}'),
            fact('{"type":"artifact","name":"report","path":"out/report.html","kind":"file"}'),
            fact('{"type":"artifact","name":"output","path":"result.json","kind":"output"}'),
            fact('{"type":"question","prompt":"go on?","schema":{"type":"boolean"}}'),
            'while [ ! -s "$EXECFLOW_ANSWER" ]; do sleep 0.05; done;',
            fact('{"type":"output","value":{"done":true}}'),
            "echo finished",
        ]
    )
    execution_id = create(api, {"workflow": {"steps": [sh("agent", script)]}})
    asking = wait_status(api, execution_id, "awaiting_input")
    assert asking["steps"][0]["prompt"] == "go on?"
    running = wait_until_counted(api, execution_id)
    assert running["checkpoints"][0]["name"] == "logged-in"
    assert api.post(f"/api/v1/executions/{execution_id}/resume", json={"input": True}).is_success

    body = wait_finished(api, execution_id)
    assert body["status"] == "completed", body
    assert (body["n_agent_actions"], body["n_screenshots"]) == (2, 1)
    assert body["output"] == {"agent": {"done": True}}
    listed = {a["name"]: a for a in api.get(body["links"]["artifacts"]).json()["items"]}
    assert {n: a["status"] for n, a in listed.items()} == {
        "one.png": "stored",
        "report": "stored",
        "output": "stored",
        "agent.log": "stored",
    }
    assert listed["one.png"]["kind"] == "screenshot"
    report = api.get(listed["report"]["url"])
    assert report.status_code == 200
    assert report.content == b"<h1>report</h1>\n"
    assert api.get(body["output_url"]).json() == {"ok": True}
    log = api.get(body["logs_url"]).text
    assert "stdout: finished" in log
    assert body["video_url"] is None
    assert api.get(f"{body['links']['artifacts']}/nope").status_code == 404


def wait_until_counted(api: httpx.Client, execution_id: str) -> dict[str, object]:
    from .conftest import wait_until

    return wait_until(api, execution_id, lambda b: b["n_agent_actions"] == 2)


def test_the_python_helper_reports_and_asks(api: httpx.Client) -> None:
    code = (
        "from execflow import step\n"
        "open('clip.mp4', 'wb').write(b'video')\n"
        "step.progress(2, 5, 'halfway')\n"
        "step.action('click', target='#ok')\n"
        "step.checkpoint('ready')\n"
        "step.artifact('clip.mp4', 'clip.mp4', kind='video')\n"
        "answer = step.ask('which?', {'type': 'string'})\n"
        "step.output({'answer': answer})\n"
    )
    step = {"id": "py", "run": {"command": [sys.executable, "-c", code]}}
    execution_id = create(api, {"workflow": {"steps": [step]}})
    wait_status(api, execution_id, "awaiting_input")
    assert api.post(f"/api/v1/executions/{execution_id}/resume", json={"input": "b"}).is_success
    body = wait_finished(api, execution_id)
    assert body["status"] == "completed", body
    assert body["output"] == {"py": {"answer": "b"}}
    assert body["progress"]["message"] == "halfway"
    assert body["n_agent_actions"] == 1
    assert [c["name"] for c in body["checkpoints"]] == ["ready"]
    assert api.get(body["video_url"]).content == b"video"


def test_artifacts_over_the_limit_or_outside_the_workspace_are_refused(
    api: httpx.Client, tmp_path: Path
) -> None:
    outside = tmp_path / "secret"
    outside.write_text("secret")
    script = " ".join(
        [
            f"head -c {MAX_BYTES + 1} /dev/zero > big.bin;",
            fact('{"type":"artifact","name":"big","path":"big.bin"}'),
            fact(f'{{"type":"artifact","name":"escape","path":"../../{outside}"}}'),
            fact('{"type":"artifact","name":"bad name!","path":"big.bin"}'),
        ]
    )
    execution_id = create(api, {"workflow": {"steps": [sh("s", script)]}})
    body = wait_finished(api, execution_id)
    assert body["status"] == "completed"
    artifacts = {a["name"]: a for a in body["artifacts"]}
    assert artifacts["big"]["status"] == "refused"
    assert f"over the artifact size limit of {MAX_BYTES} bytes" in artifacts["big"]["error"]
    assert artifacts["escape"]["status"] == "refused"
    assert "leaves the workspace" in artifacts["escape"]["error"]
    assert "bad name!" not in artifacts
    download = api.get(f"/api/v1/executions/{execution_id}/artifacts/big")
    assert download.status_code == 404
    assert "over the artifact size limit" in download.json()["reason"]
    lines = logs_until(api, execution_id, lambda ls: sum("refused" in ln["line"] for ln in ls) == 2)
    assert any("artifact name 'bad name!'" in ln["line"] for ln in lines)


def test_many_facts_from_a_step_are_reported_in_batches_that_fit(api: httpx.Client) -> None:
    # 1,000 facts of 2 KB within one batching interval: one report of them was more than
    # a bus message holds, and the step never finished.
    write = (
        "import json, os\n"
        "with open(os.environ['EXECFLOW_EVENTS'], 'a') as events:\n"
        "    for i in range(1000):\n"
        "        fact = {'type': 'action', 'name': f'a{i}', 'blob': 'b' * 2000}\n"
        "        events.write(json.dumps(fact) + '\\n')\n"
    )
    body = {"workflow": {"steps": [{"id": "chatty", "run": {"command": ["python3", "-c", write]}}]}}
    execution_id = create(api, body)
    assert wait_finished(api, execution_id)["status"] == "completed"
    settled = wait_until(api, execution_id, lambda b: b["n_agent_actions"] == 1000, 20)
    assert settled["n_agent_actions"] == 1000


def test_an_expired_executions_workspace_and_artifacts_are_deleted(
    api: httpx.Client, stack: Stack
) -> None:
    script = "mkdir -p out; echo kept > out/file.txt; " + fact(
        '{"type":"artifact","name":"file","path":"out/file.txt","kind":"file"}'
    )
    execution_id = create(
        api, {"workflow": {"steps": [sh("a", script)], "ttl": {"delete_after": "1s"}}}
    )
    assert wait_finished(api, execution_id)["status"] == "completed"
    workspace = stack.config.work_dir / execution_id
    artifacts = Path(stack.config.env()["EXECFLOW_ARTIFACTS_URL"]) / execution_id
    assert (workspace / "out" / "file.txt").exists()
    assert any(artifacts.rglob("file"))
    wait_for(lambda: not workspace.exists() and not artifacts.exists(), 20, "the files to go")
