"""Traces, metrics and logs of the four services as processes: one execution with a retry,
a child and a step on a remote agent is one trace, from the POST to its last projection;
every service serves its metrics, and the Grafana dashboard asks only for those; the
JSON logs say which execution and trace a line is about."""

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from execflow_devstack import Stack, free_port

from ..otlp_receiver import OtlpReceiver, ReceivedSpan
from .conftest import create, running_stack, sh, wait_finished, wait_for, wait_status

EXECFLOW = str(Path(sys.executable).parent / "execflow")
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "execflow.json"
SERVICES = ("api", "scheduler", "runner", "projector")


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def metrics_ports() -> dict[str, int]:
    return {name: free_port() for name in ("scheduler", "runner", "projector")}


@pytest.fixture(scope="module")
def stack(
    nats_url: str,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    receiver: OtlpReceiver,
    metrics_ports: dict[str, int],
) -> Iterator[Stack]:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms: spans reach the receiver soon
        "EXECFLOW_LOG_FORMAT": "json",
    }
    per_service = {name: {"EXECFLOW_METRICS_PORT": str(p)} for name, p in metrics_ports.items()}
    home = tmp_path_factory.mktemp("observed")
    with running_stack(nats_url, database_url, home, env, per_service) as running:
        yield running


@pytest.fixture(scope="module")
def journey(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One execution: a step that fails once then succeeds on its retry, a child execution,
    and a step only a remote agent serves; finished, and its events read from its stream."""
    queue = f"remote-{uuid.uuid4().hex[:8]}"
    home = tmp_path_factory.mktemp("agent")
    agent = subprocess.Popen(
        [
            *(EXECFLOW, "agent", "--api", stack.config.api_url, "--queue", queue),
            *("--name", "a1", "--wait", "1", "--work-dir", str(home)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(home / "agent.log").open("wb"),
        env=os.environ | stack.config.env_for_clients(),
    )
    flaky = (
        # a malformed fact: the runner logs a warning about this step
        'echo \'{"type":"bogus"}\' >> "$EXECFLOW_EVENTS"; '
        "test -f tried && exit 0; touch tried; exit 3"
    )
    workflow = {
        "steps": [
            sh("flaky", flaky, retry={"max_attempts": 2, "backoff": {"initial": 0.2}}),
            {
                "id": "sub",
                "type": "child",
                "needs": ["flaky"],
                "workflow": {"steps": [sh("inner", "echo inner")]},
            },
            sh("remote", "echo far away", "sub") | {"queue": queue},
        ]
    }
    try:
        with httpx.Client(
            base_url=stack.config.api_url, timeout=10, headers=stack.config.api_headers
        ) as api:
            execution_id = create(api, {"workflow": workflow})
            body = wait_finished(api, execution_id, timeout_s=40)
            # Deliveries on a live stream are traced too: read the events from the start.
            api.get(
                f"/api/v1/executions/{execution_id}/events",
                headers={"Accept": "text/event-stream", "Last-Event-ID": "0"},
            )
    finally:
        agent.terminate()
        agent.wait(10)
    assert body["status"] == "completed", body
    return body


def tree_of(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {s.span_id: s for s in spans}


def ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[ReceivedSpan]:
    chain = [span]
    while chain[-1].parent_id:
        chain.append(by_id[chain[-1].parent_id])
    return chain


def traced(receiver: OtlpReceiver, journey: dict[str, Any]) -> list[ReceivedSpan]:
    """The journey's spans once its last projection (and the child's) has arrived."""
    trace_id = journey["trace_id"]
    child_id = journey["steps"][1]["child_id"]

    def projected(execution_id: str) -> bool:
        return any(
            s.name == "project ExecutionCompleted"
            and s.attributes.get("execflow.execution_id") == execution_id
            for s in receiver.of_trace(trace_id)
        )

    wait_for(lambda: projected(journey["id"]) and projected(child_id), 20, "the last spans")
    wait_for(lambda: any(s.name.startswith("deliver") for s in receiver.of_trace(trace_id)), 10)
    return receiver.of_trace(trace_id)


def test_one_execution_is_one_trace_from_the_post_to_its_last_projection(
    receiver: OtlpReceiver, journey: dict[str, Any]
) -> None:
    assert re.fullmatch("[0-9a-f]{32}", journey["trace_id"])
    spans = traced(receiver, journey)
    by_id = tree_of(spans)
    roots = [s for s in spans if not s.parent_id]
    assert [(r.service, r.name) for r in roots] == [("execflow-api", "POST /api/v1/executions")]
    # Every parent is a span of the trace: the links form one tree under the POST.
    assert all(s.parent_id in by_id for s in spans if s.parent_id)
    assert {s.service for s in spans} == {f"execflow-{name}" for name in SERVICES}
    last = next(
        s
        for s in spans
        if s.name == "project ExecutionCompleted"
        and s.attributes["execflow.execution_id"] == journey["id"]
    )
    path = [s.name for s in reversed(ancestors(last, by_id))]
    assert path[0] == "POST /api/v1/executions"
    assert "send CreateExecution" in path and "handle CreateExecution" in path
    assert "run remote" in path  # the agent's finish report leads to the completion


def test_the_retry_the_child_and_the_agent_join_the_trace(
    receiver: OtlpReceiver, journey: dict[str, Any]
) -> None:
    spans = traced(receiver, journey)
    by_id = tree_of(spans)
    names = [s.name for s in spans]
    runs = [s for s in spans if s.name == "run flaky"]
    assert sorted(s.attributes["execflow.attempt"] for s in runs) == [1, 2]
    assert sorted(s.attributes.get("process.exit.code") for s in runs) == [0, 3]
    # The retry: its timer fired in the trace, and the second run descends from it.
    second = next(s for s in runs if s.attributes["execflow.attempt"] == 2)
    assert "fire retry:flaky:2" in [s.name for s in ancestors(second, by_id)]
    # The child: its own step ran, its events were projected, all in the parent's trace.
    child_id = journey["steps"][1]["child_id"]
    inner = next(s for s in spans if s.name == "run inner")
    assert inner.attributes["execflow.execution_id"] == child_id
    # The agent's step: run through the API, its reports handled by the scheduler.
    remote = next(s for s in spans if s.name == "run remote")
    assert remote.service == "execflow-api" and remote.attributes["execflow.agent"] is True
    assert any(
        s.name == "handle ReportStepFinished" and by_id[s.parent_id] is remote for s in spans
    )
    for name in ("events stored", "dispatch flaky", "project log lines of flaky"):
        assert name in names, name
    assert any(n.startswith("deliver ") for n in names)  # the SSE deliveries


def scrape(url: str, headers: dict[str, str] | None = None) -> set[str]:
    """The names of every sample a /metrics page shows."""
    text = httpx.get(url, timeout=5, headers=headers).text
    return {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }


def test_every_service_serves_metrics_and_the_dashboard_asks_only_for_them(
    stack: Stack, metrics_ports: dict[str, int], journey: dict[str, Any]
) -> None:
    pages = {name: f"http://127.0.0.1:{port}/metrics" for name, port in metrics_ports.items()}
    pages["api"] = f"{stack.config.api_url}/metrics"
    wanted = {
        "scheduler": {
            "execflow_commands_total",
            "execflow_events_stored_total",
            "execflow_command_batch_size_bucket",
            "execflow_consumer_pending_messages",
            "execflow_timers_fired_total",
            "execflow_publish_seconds_bucket",
        },
        "runner": {
            "execflow_steps_running",
            "execflow_runner_slots_used",
            "execflow_step_duration_seconds_bucket",
            "execflow_work_waiting",
            "execflow_work_leased",
        },
        "projector": {
            "execflow_projection_lag_seconds_bucket",
            "execflow_projected_messages_total",
        },
        "api": {"execflow_sse_clients", "execflow_api_commands_sent_total"},
    }
    exported: set[str] = set()

    def all_there() -> bool:
        exported.clear()
        found = {name: scrape(url, stack.config.api_headers) for name, url in pages.items()}
        exported.update(*found.values())
        return all(wanted[name] <= found[name] for name in SERVICES)

    wait_for(all_there, 15, "every service's metrics")
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(queries) >= 10
    asked = {name for q in queries for name in re.findall(r"\bexecflow_[a-z_]+", q)}
    assert asked - exported == set()


def test_json_logs_say_which_execution_step_and_trace(
    stack: Stack, journey: dict[str, Any]
) -> None:
    assert stack.config.log_dir is not None
    lines = (stack.config.log_dir / "runner.log").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records, "the runner logs JSON lines"
    assert all({"time", "level", "service", "message"} <= r.keys() for r in records)
    about = [r for r in records if r.get("execution_id") == journey["id"]]
    assert about, "a line about the journey (the malformed fact's warning)"
    assert about[0]["step_id"] == "flaky"
    assert about[0]["trace_id"] == journey["trace_id"]
    assert re.fullmatch("[0-9a-f]{16}", about[0]["span_id"])


def test_a_cancel_sent_later_continues_the_executions_trace(
    stack: Stack, receiver: OtlpReceiver
) -> None:
    with httpx.Client(
        base_url=stack.config.api_url, timeout=10, headers=stack.config.api_headers
    ) as api:
        execution_id = create(api, {"workflow": {"steps": [sh("long", "sleep 30")]}})
        wait_status(api, execution_id, "running")
        assert api.post(f"/api/v1/executions/{execution_id}/cancel").status_code == 202
        body = wait_finished(api, execution_id)
    assert body["status"] == "cancelled"

    def cancel_handled() -> list[ReceivedSpan]:
        return [
            s for s in receiver.of_trace(body["trace_id"]) if s.name == "handle CancelExecution"
        ]

    def chain_of_cancel() -> list[str]:
        """Its spans up to the root, once they have all arrived (exports come in batches)."""
        handled = cancel_handled()
        by_id = tree_of(receiver.of_trace(body["trace_id"]))
        try:
            return [s.name for s in ancestors(handled[0], by_id)] if handled else []
        except KeyError:  # a parent not exported yet
            return []

    wait_for(lambda: bool(chain_of_cancel()), 20, "the cancel's span in the execution's trace")
    chain = chain_of_cancel()
    assert chain[:2] == ["handle CancelExecution", "send CancelExecution"]
    assert chain[-1] == "POST /api/v1/executions"  # under the execution's own root
