"""Python functions as steps: a worker in this process (as in a user's service) serves
them to the four services, through the public API."""

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from execflow import ApiError, AsyncClient
from execflow.cli import app
from execflow_contracts import ExecutionView, FunctionCall
from execflow_devstack import Stack
from execflow_worker import Context, SyncContext, Worker

from .conftest import create, logs_until, wait_finished, wait_status

GRACE_S = 1.0


class Numbers(BaseModel):
    a: int
    b: int


class Total(BaseModel):
    total: int


class Nothing(BaseModel):
    pass


def ignores_stops(args: Nothing) -> None:
    """Sync, with hard stops: it never looks at `ctx.cancelled`, so it is killed."""
    while True:
        time.sleep(0.05)


class Serving:
    """A worker serving in a thread of its own (its own event loop), as a service would."""

    def __init__(self, worker: Worker, queue: str, capacity: int) -> None:
        self._worker = worker
        self._queue = queue
        self._capacity = capacity
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        ready = asyncio.Event()
        serving = asyncio.create_task(
            self._worker.serve([self._queue], self._capacity, self._stop, ready)
        )
        waiting = asyncio.create_task(ready.wait())
        await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
        self._ready.set()
        try:
            await serving
        except BaseException as exc:
            self._error = exc
        finally:
            waiting.cancel()

    def __enter__(self) -> "Serving":
        self._thread.start()
        assert self._ready.wait(20), "the worker did not start"
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)
        assert not self._thread.is_alive(), "the worker did not stop"
        if self._error is not None:
            raise self._error


def worker_for(stack: Stack) -> tuple[Worker, str]:
    """A worker of this stack, and a queue of this test's own."""
    worker = Worker(
        nats_url=stack.config.nats_url,
        bus_prefix=stack.config.bus_prefix,
        worker_id=f"w-{uuid.uuid4().hex[:8]}",
        stop_grace_s=GRACE_S,
        lease_s=5.0,
    )
    return worker, f"q{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def serving(worker: Worker, queue: str, capacity: int = 4) -> Iterator[Serving]:
    with Serving(worker, queue, capacity) as running:
        yield running


def fn(step_id: str, function: str, queue: str, *needs: str, **extra: Any) -> dict[str, Any]:
    args = extra.pop("args", {})
    run = {"function": function, "args": args}
    return {"id": step_id, "needs": list(needs), "queue": queue, "run": run, **extra}


def test_three_function_steps_pass_outputs_report_progress_and_ship_logs(
    api: httpx.Client, stack: Stack
) -> None:
    worker, queue = worker_for(stack)

    @worker.function("add")
    async def add(args: Numbers, ctx: Context) -> Total:
        ctx.progress(1, 2, "adding")
        ctx.checkpoint(f"added-{ctx.step_id}")
        ctx.logger.info("adding %d and %d", args.a, args.b)
        print("printed", args.a)
        return Total(total=args.a + args.b)

    @worker.function("double")
    def double(args: Total, ctx: SyncContext) -> Total:
        ctx.logger.warning("doubling %d", args.total)
        return Total(total=args.total * 2)

    steps = [
        fn("first", "add", queue, args={"a": "{{ inputs.a }}", "b": 2}),
        fn("twice", "double", queue, "first", args={"total": "{{ steps.first.output.total }}"}),
        fn("last", "add", queue, "twice", args={"a": "{{ steps.twice.output.total }}", "b": 1}),
    ]
    with serving(worker, queue):
        execution_id = create(api, {"workflow": {"steps": steps}, "input": {"a": 3}})
        body = wait_finished(api, execution_id)
    assert body["status"] == "completed", body
    assert body["output"] == {
        "first": {"total": 5},
        "twice": {"total": 10},
        "last": {"total": 11},
    }
    assert [c["name"] for c in body["checkpoints"]] == ["added-first", "added-last"]
    assert {s["id"]: s["worker"] for s in body["steps"]} == dict.fromkeys(
        ("first", "twice", "last"), worker.settings.worker_id
    )
    lines = logs_until(api, execution_id, lambda lines: len(lines) >= 5)
    by_step = {(line["step_id"], line["stream"], line["line"]) for line in lines}
    assert ("first", "stdout", "INFO execflow.function.add: adding 3 and 2") in by_step
    assert ("first", "stdout", "printed 3") in by_step
    assert ("twice", "stderr", "WARNING execflow.function.double: doubling 5") in by_step
    assert ("last", "stdout", "printed 10") in by_step


def test_arguments_that_do_not_fit_fail_the_step_with_the_reason_and_no_retry(
    api: httpx.Client, stack: Stack
) -> None:
    worker, queue = worker_for(stack)

    @worker.function("add")
    def add(args: Numbers) -> Total:
        return Total(total=args.a + args.b)

    retried = {"retry": {"max_attempts": 3, "backoff": {"initial": "10ms"}}}
    step = fn("sum", "add", queue, args={"a": "three", "b": 1}, **retried)
    with serving(worker, queue):
        body = wait_finished(api, create(api, {"workflow": {"steps": [step]}}))
    assert body["status"] == "failed"
    error = body["steps"][0]["error"]
    assert "arguments do not fit add's input" in error
    assert "a\n  Input should be a valid integer" in error
    assert body["steps"][0]["attempts"] == 1


def test_an_exception_is_the_step_s_error_with_its_traceback_and_is_retried(
    api: httpx.Client, stack: Stack
) -> None:
    worker, queue = worker_for(stack)

    @worker.function("flaky")
    async def flaky(args: Nothing, ctx: Context) -> int:
        if ctx.attempt == 1:
            raise ValueError("not this time")
        return ctx.attempt

    retried = {"retry": {"max_attempts": 2, "backoff": {"initial": "10ms"}}}
    with serving(worker, queue):
        execution_id = create(api, {"workflow": {"steps": [fn("f", "flaky", queue, **retried)]}})
        body = wait_finished(api, execution_id)
    assert body["status"] == "completed", body
    assert body["output"] == {"f": 2}
    assert [a["error"] for a in body["attempts"]] == ["ValueError: not this time", None]
    assert [a["error_kind"] for a in body["attempts"]] == ["exception", None]
    lines = logs_until(
        api, execution_id, lambda lines: any("Traceback" in x["line"] for x in lines)
    )
    assert any(x["line"] == "ValueError: not this time" for x in lines)


def test_a_question_waits_for_the_answer(api: httpx.Client, stack: Stack) -> None:
    worker, queue = worker_for(stack)

    @worker.function("pick")
    def pick(args: Nothing, ctx: SyncContext) -> dict[str, str]:
        return {"colour": ctx.ask("which colour?", {"type": "string"})}

    with serving(worker, queue):
        execution_id = create(api, {"workflow": {"steps": [fn("p", "pick", queue)]}})
        asking = wait_status(api, execution_id, "awaiting_input")
        assert asking["steps"][0]["prompt"] == "which colour?"
        resumed = api.post(f"/api/v1/executions/{execution_id}/resume", json={"input": "blue"})
        assert resumed.is_success, resumed.text
        body = wait_finished(api, execution_id)
    assert body["status"] == "completed", body
    assert body["output"] == {"p": {"colour": "blue"}}


def test_cancel_cancels_a_coroutine_and_kills_a_call_that_ignores_it(
    api: httpx.Client, stack: Stack
) -> None:
    worker, queue = worker_for(stack)
    seen: list[str] = []

    @worker.function("wait")
    async def wait(args: Nothing, ctx: Context) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen.append(f"cancelled, ctx.cancelled={ctx.cancelled}")
            raise

    worker.function("stubborn", hard_stop=True)(ignores_stops)
    steps = [fn("polite", "wait", queue), fn("stubborn", "stubborn", queue)]
    with serving(worker, queue):
        execution_id = create(api, {"workflow": {"steps": steps}})
        wait_status(api, execution_id, "running")
        wait_until_running(api, execution_id, 2)
        asked = time.monotonic()
        assert api.post(f"/api/v1/executions/{execution_id}/cancel", json={}).is_success
        body = wait_finished(api, execution_id)
        took = time.monotonic() - asked
    assert body["status"] == "cancelled", body
    assert seen == ["cancelled, ctx.cancelled=True"]
    # The stubborn call was killed after the grace, not waited for.
    assert GRACE_S <= took < GRACE_S + 5
    errors = {s["id"]: s["error"] for s in body["steps"]}
    assert "stopped after a grace of 1s" in errors["stubborn"]


def test_an_attempt_over_its_timeout_is_stopped(api: httpx.Client, stack: Stack) -> None:
    worker, queue = worker_for(stack)
    seen: list[bool] = []

    @worker.function("slow")
    def slow(args: Nothing, ctx: SyncContext) -> None:
        while not ctx.cancelled:  # cooperative: it looks, and stops
            time.sleep(0.02)
        seen.append(ctx.cancelled)

    step = fn("s", "slow", queue, timeout={"attempt": "500ms"})
    with serving(worker, queue):
        body = wait_finished(api, create(api, {"workflow": {"steps": [step]}}))
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
    assert body["status"] == "failed"
    assert body["attempts"][0]["error_kind"] == "timeout", body
    assert seen == [True]


def test_the_worker_is_in_the_registry_with_its_functions(api: httpx.Client, stack: Stack) -> None:
    worker, queue = worker_for(stack)

    @worker.function("one")
    def one(args: Nothing) -> None: ...

    @worker.function("two")
    async def two(args: Nothing) -> None: ...

    with serving(worker, queue, capacity=3):
        workers = {w["id"]: w for w in api.get("/api/v1/workers").json()["items"]}
        me = workers[worker.settings.worker_id]
        assert (me["functions"], me["queues"], me["backends"], me["capacity"]) == (
            ["one", "two"],
            [queue],
            ["function"],
            3,
        )
    gone = {w["id"] for w in api.get("/api/v1/workers").json()["items"]}
    assert worker.settings.worker_id not in gone


def wait_until_running(api: httpx.Client, execution_id: str, n: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        steps = api.get(f"/api/v1/executions/{execution_id}").json()["steps"]
        if sum(s["status"] == "running" for s in steps) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"{n} steps of {execution_id} did not run")


def test_a_function_no_live_worker_serves_waits_and_says_so(
    api: httpx.Client, stack: Stack
) -> None:
    worker, queue = worker_for(stack)

    @worker.function("later")
    def later(args: Numbers) -> Total:
        return Total(total=args.a + args.b)

    accepted = api.post(
        "/api/v1/functions/later/execute",
        json={"arguments": {"a": 1, "b": "{{ not a template }}"}, "queue": queue},
    )
    assert accepted.status_code == 202, accepted.text
    execution_id = accepted.json()["id"]
    waiting = wait_status(api, execution_id, "queued")
    reason = f"waiting: no live worker serves function 'later' on queue '{queue}'"
    assert waiting["steps"][0]["message"] == reason
    assert waiting["message"] == f"later: {reason}"
    assert waiting["input"] == {"a": 1, "b": "{{ not a template }}"}
    with serving(worker, queue):
        listed = api.get("/api/v1/functions").json()["items"]
        assert {
            "name": "later",
            "queues": [queue],
            "workers": [worker.settings.worker_id],
        } in listed
        body = wait_finished(api, execution_id)
    assert body["status"] == "failed"  # "{{ not a template }}" reached it as it was given
    assert "Input should be a valid integer" in body["steps"][0]["error"]
    assert api.post("/api/v1/functions/a.b/execute", json={}).status_code == 422


def test_execute_runs_a_registered_workflow_of_that_name(api: httpx.Client, stack: Stack) -> None:
    name = f"wf-{uuid.uuid4().hex[:8]}"
    definition = {
        "id": name,
        "steps": [{"id": "echo", "run": {"command": ["echo", "{{ inputs.who }}"]}}],
    }
    assert api.post("/api/v1/workflows", json=definition).status_code == 201
    accepted = api.post(f"/api/v1/functions/{name}/execute", json={"arguments": {"who": "me"}})
    assert accepted.status_code == 202, accepted.text
    body = wait_finished(api, accepted.json()["id"])
    assert (body["status"], body["workflow_id"], body["input"]) == (
        "completed",
        name,
        {"who": "me"},
    )


def test_execflow_execute_calls_a_function_with_its_arguments(stack: Stack) -> None:
    worker, queue = worker_for(stack)

    @worker.function("add")
    def add(args: Numbers) -> Total:
        return Total(total=args.a + args.b)

    runner = CliRunner(
        env={"EXECFLOW_API_URL": stack.config.api_url, "COLUMNS": "200"}
        | stack.config.env_for_clients()
    )
    with serving(worker, queue):
        done = runner.invoke(
            app,
            ["execute", "add", "--arg", "a=2", "--arg", "b=40", "--queue", queue, "--interactive"],
        )
    assert done.exit_code == 0, done.output
    assert "execution: completed" in done.output
    bad = runner.invoke(app, ["execute", "add", "--arg", "a"])
    assert bad.exit_code == 1
    assert "--arg takes key=value, not 'a'" in bad.output


def test_the_async_client_executes_waits_watches_and_reads_logs_typed(stack: Stack) -> None:
    worker, queue = worker_for(stack)

    gate = threading.Event()  # the call waits until the watch has begun

    @worker.function("add")
    async def add(args: Numbers, ctx: Context) -> Total:
        await asyncio.to_thread(gate.wait, 10)
        ctx.logger.info("adding")
        return Total(total=args.a + args.b)

    async def watched(client: AsyncClient, execution_id: str) -> list[str]:
        seen = []
        async for event in client.watch(execution_id):
            seen.append(type(event).__name__)
            gate.set()
        return seen

    async def scenario() -> tuple[Any, ...]:
        async with AsyncClient(stack.config.api_url, api_key=stack.config.api_key) as client:
            call = FunctionCall(arguments={"a": 1, "b": 2}, queue=queue)
            accepted = await client.execute_function("add", call, idempotency_key=queue)
            again = await client.execute_function("add", call, idempotency_key=queue)
            seen = await watched(client, str(accepted.id))
            done = await client.wait(str(accepted.id))
            lines = [line.line async for line in client.logs(str(accepted.id))]
            with pytest.raises(ApiError) as refused:
                await client.resume(str(accepted.id), 1)
            return accepted, again, seen, done, lines, refused.value

    with serving(worker, queue):
        accepted, again, seen, done, lines, refused = asyncio.run(scenario())
    assert again.id == accepted.id  # the same key, the same execution
    assert seen[0] == "ExecutionView" and seen[-1] == "ExecutionCompleted"
    assert isinstance(done, ExecutionView)
    assert done.status == "completed" and done.output == {"add": {"total": 3}}
    assert lines == ["INFO execflow.function.add: adding"]
    assert refused.status == 409


def test_a_function_s_files_are_stored_as_its_artifacts(
    api: httpx.Client, stack: Stack, tmp_path: Path
) -> None:
    worker, queue = worker_for(stack)
    worker = Worker(worker.settings, artifacts_url=stack.config.env()["EXECFLOW_ARTIFACTS_URL"])

    @worker.function("report")
    def report(args: Nothing, ctx: SyncContext) -> None:
        (tmp_path / "report.html").write_text("<h1>done</h1>")
        (tmp_path / "shot.png").write_bytes(b"PNG")
        ctx.artifact("report", tmp_path / "report.html")
        ctx.screenshot(tmp_path / "shot.png")
        ctx.artifact("missing", tmp_path / "nowhere.txt")

    with serving(worker, queue):
        body = wait_finished(api, create(api, {"workflow": {"steps": [fn("r", "report", queue)]}}))
    assert body["status"] == "completed", body
    assert body["n_screenshots"] == 1
    listed = {a["name"]: a for a in api.get(body["links"]["artifacts"]).json()["items"]}
    assert {n: a["status"] for n, a in listed.items()} == {
        "report": "stored",
        "shot.png": "stored",
        "missing": "refused",
    }
    assert api.get(listed["report"]["url"]).content == b"<h1>done</h1>"
