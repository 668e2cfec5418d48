"""The dashboard in a real headless Chromium (Debian's), driven by Playwright, against the
four services as processes: what an operator does, seen as the operator sees it.

One stack and one browser for the module. Each page is saved as a screenshot under
bench/results/screens/ for people to look at. Without a Chromium these tests skip,
unless EXECFLOW_REQUIRE_BROWSER=1 (as in CI): then they fail.
"""

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from execflow_devstack import CHROMIUM, CHROMIUM_ARGS, Stack

from .conftest import alive, create, sh, step_processes, wait_finished, wait_for, wait_status

playwright_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "bench" / "results" / "screens"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 15_000

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", autouse=True)
def built_dashboard() -> None:
    """Built when its sources changed (make's own check), before the API starts."""
    done = subprocess.run(
        ["make", "-s", "dashboard"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    """After the stack: Playwright's sync API holds this thread's event loop while it
    runs, and the stack's start needs one of its own."""
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("EXECFLOW_REQUIRE_BROWSER") == "1":
            pytest.fail(f"EXECFLOW_REQUIRE_BROWSER=1, but {reason}")
        pytest.skip(reason)
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        yield chromium
        chromium.close()


def signed_in(browser: Any, stack: Stack, viewport: dict[str, int], key: str | None = None) -> Any:
    """A browser context whose session holds the stack's admin key (or `key`), as the
    sign-in form leaves it."""
    context = browser.new_context(viewport=viewport, base_url=stack.config.api_url)
    token = json.dumps(key or stack.config.api_key)
    context.add_init_script(f"sessionStorage.setItem('execflow.token', {token})")
    return context


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    """A fresh page at 1280 px, signed in; any script error on it fails the test."""
    context = signed_in(browser, stack, DESKTOP)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


def screenshot(page: Any, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"))


def card(page: Any, column: str, execution_id: str) -> Any:
    return page.locator(f'[data-column="{column}"] [data-id="{execution_id}"]')


def test_the_board_moves_a_card_when_its_execution_completes_without_a_reload(
    page: Any, api: httpx.Client, stack: Stack
) -> None:
    page.goto("/")
    page.wait_for_selector(".live.on")
    page.evaluate("window.__sameDocument = true")
    # Runs until the test lets it finish (a file in its workspace), so the card is seen
    # running first.
    script = "while [ ! -e go ]; do sleep 0.05; done; echo done"
    execution_id = create(api, {"workflow": {"steps": [sh("wait", script)]}})

    card(page, "running", execution_id).wait_for()
    screenshot(page, "board")
    (stack.config.work_dir / execution_id / "go").touch()
    card(page, "completed", execution_id).wait_for()
    assert card(page, "running", execution_id).count() == 0
    assert page.evaluate("window.__sameDocument") is True  # moved live, not reloaded
    assert "2/2" not in card(page, "completed", execution_id).inner_text()
    assert "1/1 steps" in card(page, "completed", execution_id).inner_text()


def test_cancel_from_a_card_stops_the_running_step(page: Any, api: httpx.Client) -> None:
    step = sh("long", "echo started > started; exec sleep 120")
    execution_id = create(api, {"workflow": {"steps": [step]}, "metadata": {"board": "cancel"}})
    wait_for(lambda: len(step_processes(execution_id)) == 1, what="the step")
    (pid,) = step_processes(execution_id)
    assert alive(pid)

    page.goto("/?meta=board%3Dcancel")  # filtered by metadata, kept in the URL
    running = card(page, "running", execution_id)
    running.get_by_role("button", name="Cancel").click()
    card(page, "stopped", execution_id).wait_for()
    wait_for(lambda: not alive(pid), what=f"the step's process {pid} to stop")
    assert wait_status(api, execution_id, "cancelled")["status"] == "cancelled"
    assert page.input_value('input[aria-label="metadata"]') == "board=cancel"


APPROVAL = {
    "type": "object",
    "required": ["ok"],
    "properties": {"ok": {"type": "boolean", "title": "Approve"}, "note": {"type": "string"}},
}


def test_the_input_form_resumes_a_waiting_execution(page: Any, api: httpx.Client) -> None:
    workflow = {
        "steps": [
            {"id": "ask", "type": "input", "prompt": "Ship it?", "schema": APPROVAL},
            sh("after", "echo approved", "ask"),
        ]
    }
    execution_id = create(api, {"workflow": workflow})
    wait_status(api, execution_id, "awaiting_input")

    page.goto(f"/executions/{execution_id}")
    form = page.get_by_role("form", name="input for ask")
    form.get_by_text("Ship it?").wait_for()
    form.get_by_label("Approve").check()
    form.get_by_label("note").fill("looks good")
    screenshot(page, "execution-waiting")
    form.get_by_role("button", name="Resume").click()

    page.locator('[data-testid="status"]', has_text="completed").wait_for()
    done = api.get(f"/api/v1/executions/{execution_id}").json()
    ask = next(s for s in done["steps"] if s["id"] == "ask")
    assert ask["output"] == {"ok": True, "note": "looks good"}
    assert page.locator('[data-step="after"][data-status="succeeded"]').count() == 1


def register(api: httpx.Client, definition: dict[str, Any]) -> None:
    response = api.post("/api/v1/workflows", json=definition)
    assert response.status_code in (200, 201), response.text


def test_a_new_execution_from_the_form_lands_on_its_page_and_its_logs_follow(
    page: Any, api: httpx.Client
) -> None:
    workflow_id = f"build-{uuid.uuid4().hex[:8]}"
    register(
        api,
        {
            "id": workflow_id,
            "description": "counts out loud",
            "inputs": {
                "type": "object",
                "required": ["service"],
                "properties": {
                    "service": {"type": "string"},
                    "times": {"type": "integer", "default": 3},
                },
            },
            "steps": [
                sh(
                    "count",
                    "for i in $(seq 1 {{ inputs.times }}); do echo {{ inputs.service }} $i;"
                    " sleep 0.3; done",
                )
            ],
        },
    )
    page.goto(f"/new?workflow={workflow_id}")
    page.get_by_label("service").fill("billing")
    page.get_by_label("times").fill("5")
    screenshot(page, "new-execution")
    page.get_by_role("button", name="Run").click()

    page.wait_for_url(re.compile(r"/executions/[0-9a-f-]{36}$"))
    logs = page.locator('[data-testid="logs"]')
    logs.get_by_text("billing 1").wait_for()  # the first line, while it runs
    first_seen_running = page.locator('[data-testid="status"]').inner_text()
    logs.get_by_text("billing 5").wait_for()
    page.locator('[data-testid="status"]', has_text="completed").wait_for()
    assert first_seen_running in ("running", "starting", "queued", "pending")
    lines = [line for line in logs.inner_text().splitlines() if "billing" in line]
    assert [line.split()[-1] for line in lines] == ["1", "2", "3", "4", "5"]
    screenshot(page, "execution")


def test_analytics_draws_charts_with_the_right_totals(page: Any, api: httpx.Client) -> None:
    workflow_id = f"metrics-{uuid.uuid4().hex[:8]}"
    register(
        api,
        {
            "id": workflow_id,
            "inputs": {"type": "object", "properties": {"code": {"type": "integer"}}},
            "steps": [sh("exit", "exit {{ inputs.code }}")],
        },
    )
    codes = [0, 0, 0, 1, 1]
    ids = [create(api, {"workflow_id": workflow_id, "input": {"code": c}}) for c in codes]
    for execution_id in ids:
        wait_finished(api, execution_id)

    page.goto(f"/analytics?range=1h&workflow={workflow_id}")
    tiles = page.locator('[data-testid="totals"]')
    expected = {"started": "5", "completed": "3", "failed": "2", "success rate": "60.0%"}
    for name, value in expected.items():
        tile = tiles.locator(f'[data-tile="{name}"] strong')
        deadline = time.monotonic() + 10
        while tile.inner_text() != value and time.monotonic() < deadline:
            page.reload()  # the rollup trails the executions' ends by a batch
            page.wait_for_timeout(300)
        assert tile.inner_text() == value, name
    for title in ("Executions per bucket", "Success rate", "Duration (ms)", "Queue wait (ms)"):
        assert page.locator(f'[data-chart="{title}"] canvas').count() == 1, title
    screenshot(page, "analytics")


def test_every_page_renders_on_a_desktop_and_a_phone_in_both_themes(
    browser: Any, stack: Stack, api: httpx.Client
) -> None:
    pages = {
        "board": "/",
        "workers": "/workers",
        "workflows": "/workflows",
        "analytics": "/analytics?range=24h",
        "new-execution": "/new",
    }
    for viewport_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        for theme in ("light", "dark"):
            context = signed_in(browser, stack, viewport)
            context.add_init_script(f"localStorage.setItem('execflow.theme', '{theme}')")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
            for name, path in pages.items():
                page.goto(path)
                page.wait_for_load_state("networkidle")
                assert page.locator("main h1").count() >= 1, name
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"], f"{name} overflows the {viewport_name}"
                screenshot(page, f"{name}-{viewport_name}-{theme}")
            context.close()
            assert not errors, errors


def test_keys_move_between_pages_and_an_unbuilt_path_is_the_apis(
    page: Any, api: httpx.Client
) -> None:
    page.goto("/")
    page.wait_for_selector(".live.on")
    page.keyboard.press("a")
    page.wait_for_url(re.compile(r"/analytics$"))
    page.keyboard.press("b")
    page.wait_for_url(re.compile(r"/$"))
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.hasAttribute('data-search')") is True
    page.keyboard.press("Escape")
    theme = page.evaluate("document.documentElement.dataset.theme")
    page.locator("main h1").click()
    page.keyboard.press("t")
    assert page.evaluate("document.documentElement.dataset.theme") != theme

    assert api.get("/api/v1/nowhere").status_code == 404
    assert api.get("/api/v1/nowhere").json() == {"detail": "not found"}
    assert "text/html" in api.get("/executions/anything").headers["content-type"]


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    kind = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield kind, json.loads(line.removeprefix("data: "))


def test_the_board_api_puts_cards_in_columns_and_streams_the_ones_that_change(
    stack: Stack, api: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:8]
    done = create(api, {"workflow": {"steps": [sh("a", "true")]}, "metadata": {"tag": tag}})
    failed = create(api, {"workflow": {"steps": [sh("a", "exit 4")]}, "metadata": {"tag": tag}})
    wait_status(api, done, "completed")
    wait_status(api, failed, "failed")

    columns = api.get("/api/v1/board", params={"metadata.tag": tag}).json()["columns"]
    assert {name: c["count"] for name, c in columns.items()} == {
        "queued": 0,
        "running": 0,
        "awaiting_input": 0,
        "completed": 1,
        "failed": 1,
        "stopped": 0,
    }
    (completed,) = columns["completed"]["items"]
    assert (completed["id"], completed["column"]) == (done, "completed")
    assert completed["step_counts"] == {"succeeded": 1}
    only_failed = api.get("/api/v1/board", params={"metadata.tag": tag, "status": "failed"})
    assert [c["count"] for c in only_failed.json()["columns"].values()] == [0, 0, 0, 0, 1, 0]
    assert api.get("/api/v1/board", params={"limit": 0}).status_code == 422
    assert "created_after" in api.get("/api/v1/board?created_after=yesterday").text

    other = uuid.uuid4().hex[:8]
    url = f"{stack.config.api_url}/api/v1/board/stream"
    # As a browser's EventSource sends it: the key in the query.
    params = {"metadata.tag": other, "token": stack.config.api_key or ""}
    with httpx.stream("GET", url, params=params, timeout=20) as response:
        events = sse_events(response)
        assert next(events)[0] == "ready"
        create(api, {"workflow": {"steps": [sh("a", "true")]}, "metadata": {"tag": tag}})
        watched = create(
            api, {"workflow": {"steps": [sh("a", "true")]}, "metadata": {"tag": other}}
        )
        seen = []
        for kind, body in events:
            assert kind == "card"
            seen.append(body["id"])
            assert body["metadata"] == {"tag": other}  # the filter holds on the stream
            if body["column"] == "completed":
                break
    assert set(seen) == {watched}


def test_signing_in_with_a_key_shows_its_namespace_and_hides_what_its_role_may_not_do(
    browser: Any, stack: Stack, api: httpx.Client
) -> None:
    done = create(api, {"workflow": {"steps": [sh("a", "true")]}})
    wait_finished(api, done)
    reader = api.post("/api/v1/keys", json={"role": "reader", "name": "dashboard test"})
    assert reader.status_code == 201, reader.text
    context = browser.new_context(viewport=DESKTOP, base_url=stack.config.api_url)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto("/")
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_label("API key").fill("efk_000000000000_wrong")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="no valid API key").wait_for()
    page.get_by_label("API key").fill(reader.json()["key"])
    page.get_by_role("button", name="Sign in").click()
    page.locator(".who", has_text="default · reader").wait_for()
    card(page, "completed", done).wait_for()
    # A reader sees the board but no action it may not take.
    assert card(page, "completed", done).get_by_role("button", name="Retry").count() == 0
    page.goto(f"/executions/{done}")
    page.locator("main h1").first.wait_for()
    assert page.get_by_role("button", name="Retry").count() == 0
    page.goto("/new")
    page.get_by_text("A reader's key may not start executions").wait_for()
    screenshot(page, "signed-in-reader")
    context.close()
