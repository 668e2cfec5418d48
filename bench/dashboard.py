"""How fast do the dashboard's pages load with 100,000 executions stored?

    .tools/bin/uv run --frozen --all-packages python bench/dashboard.py [EXECUTIONS]

Starts embedded NATS and PostgreSQL and the four services (as `make run` does), stores
synthetic executions straight into the read models (as bench/queries.py does; their
steps and their rollup too), then opens each page in Debian's headless Chromium and
times, over several loads of a fresh page, navigation start to the page showing its
data (its cards, its charts, its graph). Prints milliseconds (median and slowest) and
what the browser fetched. Not part of the test suite: speed is measured, not asserted.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from playwright.sync_api import sync_playwright
from queries import FILL

from execflow_devstack import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EmbeddedPostgres,
    NatsServer,
    Stack,
    StackConfig,
    ensure_database,
    free_port,
)
from execflow_ops.provision import provision
from execflow_platform import schema_conninfo
from execflow_projector.projections import rollup

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = PREFIX = "dashboard_bench"
LOADS = 7
STEPS = """
INSERT INTO steps (execution_id, step_id, position, status, queue, attempts, started_at,
    finished_at)
SELECT id, 'a', 0, CASE WHEN status = 'completed' THEN 'succeeded' WHEN status = 'failed'
    THEN 'failed' WHEN status = 'running' THEN 'running' ELSE 'pending' END, queue, 1,
    started_at, completed_at
FROM executions
"""
# What each page shows once its data is in, and a path to it.
PAGES = {
    "(floor: the page of an unknown path)": ("/nowhere", "main h1"),
    "board": ("/", ".card"),
    "board, filtered (metadata)": ("/?meta=team%3Ddata", ".card"),
    "execution": ("/executions/{id}", ".node"),
    "analytics, 24 h": ("/analytics?range=24h", ".chart canvas"),
    "analytics, 30 d": ("/analytics?range=30d", ".chart canvas"),
    "workers": ("/workers", "[data-testid=queues]"),
}


def fill(conninfo: str, executions: int) -> str:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(FILL.replace("%s", str(executions)))
        # The synthetic executions happened now, not in 2026-01: shift them to the last days.
        conn.execute(
            "UPDATE executions SET created_at = created_at + shift, queued_at = queued_at + shift,"
            " started_at = started_at + shift, completed_at = completed_at + shift FROM"
            " (SELECT now() - max(created_at) AS shift FROM executions) AS s"
        )
        conn.execute(STEPS)
        conn.execute(rollup.FROM_EXECUTIONS)
        conn.execute("VACUUM ANALYZE")
        row = conn.execute("SELECT id FROM executions ORDER BY created_at DESC LIMIT 1").fetchone()
    assert row is not None
    return str(row[0])


def time_page(browser: Any, base: str, path: str, ready: str) -> tuple[list[float], int]:
    samples, transferred = [], 0
    for _ in range(LOADS):
        context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=base)
        page = context.new_page()
        page.goto(path, wait_until="commit")
        page.wait_for_selector(ready, timeout=30_000)
        samples.append(page.evaluate("performance.now()"))
        transferred = page.evaluate(
            "performance.getEntriesByType('resource').concat(performance.getEntriesByType"
            "('navigation')).reduce((n, e) => n + (e.transferSize || 0), 0)"
        )
        context.close()
    return samples, transferred


def main(executions: int) -> None:
    subprocess.run(["make", "-s", "dashboard"], cwd=ROOT, check=True)
    home = Path(tempfile.mkdtemp(prefix="execflow-dashboard-bench-"))
    nats = NatsServer(home / "nats").start()
    postgres = EmbeddedPostgres(home / "pg", cleanup="delete").start()
    stack = None
    try:
        db_url = ensure_database(postgres.url(), "execflow")
        provision(nats.url, db_url, SCHEMA, PREFIX)
        config = StackConfig(
            nats_url=nats.url,
            database_url=db_url,
            db_schema=SCHEMA,
            bus_prefix=PREFIX,
            api_port=free_port(),
            work_dir=home / "workspaces",
            log_dir=home / "logs",
        )
        stack = Stack(config).start()
        stack.wait_ready()
        started = time.perf_counter()
        newest = fill(schema_conninfo(db_url, SCHEMA), executions)
        print(f"{executions:,} executions stored in {time.perf_counter() - started:.1f}s")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
            print(f"{'page':38} {'median ms':>10} {'max ms':>8} {'KB':>6}")
            for name, (path, ready) in PAGES.items():
                samples, size = time_page(browser, config.api_url, path.format(id=newest), ready)
                print(
                    f"{name:38} {statistics.median(samples):10.0f} {max(samples):8.0f}"
                    f" {size / 1024:6.0f}"
                )
            browser.close()
    finally:
        if stack is not None:
            stack.stop()
        nats.stop()
        postgres.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
