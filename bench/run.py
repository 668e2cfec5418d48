"""`make bench`: execflow's throughput and latency, beside the machine's own limits.

    .tools/bin/uv run --frozen --all-packages python bench/run.py [--quick] [--n N]
        [--concurrency C] [--steps S] [--runners R]

Starts embedded NATS and PostgreSQL in a temporary folder and the four services as
processes (as `make run` does), then measures, in one run:

1. throughput: N executions of S sequential `true` steps, submitted concurrently;
   executions completed per second, first submit to last `completed` in the read model;
2. latency: executions one at a time, POST to `completed` seen on its SSE stream; step
   dispatch (step dispatched → process started) and projection lag (event → read model);
3. fan-out: one execution of 200 parallel `true` steps and a join;
4. the machine's limits on the same servers: JetStream publish-with-ack (async,
   batched), PostgreSQL single-row commits, `true` processes started and reaped;
5. peak RSS of every service and server during the throughput run;
6. as a user's service sees it (`user_load.py`): the same chain as process steps and as
   function steps (one function worker process), submitted through execflow.AsyncClient,
   completion seen through the engine overview (throughput) and each execution's stream
   (latency), with CPU per execution by process, the client's apart.

`--sections user` runs only the last (a quicker comparison of two builds).

Prints a table and writes bench/results/latest.json (and a timestamped copy).
"""

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import psycopg
import user_load
import uvloop
from breakdown import breakdown
from rich.console import Console
from rich.table import Table

from execflow_devstack import (
    EmbeddedPostgres,
    NatsServer,
    ServiceProcess,
    Stack,
    StackConfig,
    ensure_database,
    free_port,
)
from execflow_ops.access import make_key
from execflow_ops.provision import provision
from execflow_platform import connect, schema_conninfo

RESULTS = Path(__file__).parent / "results"
SCHEMA = PREFIX = "bench"
# How long the API may take to project a just-created execution before its stream is
# opened (milliseconds, normally).
KNOWN_WITHIN_S = 10


def chain(steps: int) -> dict[str, Any]:
    ids = [f"s{i}" for i in range(steps)]
    return {
        "workflow": {
            "steps": [
                {"id": s, "needs": ids[i - 1 : i], "run": {"command": ["true"]}}
                for i, s in enumerate(ids)
            ]
        }
    }


def fan_out(width: int) -> dict[str, Any]:
    ids = [f"p{i}" for i in range(width)]
    steps = [{"id": s, "run": {"command": ["true"]}} for s in ids]
    steps.append({"id": "join", "needs": ids, "run": {"command": ["true"]}})
    return {"workflow": {"steps": steps}}


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": round(ordered[-1], 2),
        "n": len(ordered),
    }


class RssSampler:
    """Peak resident memory per named process tree, sampled in a thread."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self.peak_mb: dict[str, float] = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for name, pid in self._pids.items():
                try:
                    rss = sum(p.memory_info().rss for p in processes_of(name, pid)) / 2**20
                except psutil.Error:
                    continue
                self.peak_mb[name] = round(max(self.peak_mb[name], rss), 1)


def processes_of(name: str, pid: int) -> list[psutil.Process]:
    """What counts as one named process. PostgreSQL is all its backends; a runner's
    children are the steps (and, for a moment after each start, a copy of the runner),
    so they are not counted as the runner."""
    root = psutil.Process(pid)
    return [root, *(root.children(recursive=True) if name == "postgres" else [])]


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU used so far by each named process; a runner's includes its reaped steps, and
    PostgreSQL's its backends (all its processes)."""
    used: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            times = [p.cpu_times() for p in processes_of(name, pid)]
        except psutil.Error:
            continue
        used[name] = sum(t.user + t.system + t.children_user + t.children_system for t in times)
    return used


# The API key every request sends (auth is on unless EXECFLOW_AUTH=off), set once in main.
HEADERS: dict[str, str] = {}


def client_session(api: str, connections: int) -> aiohttp.ClientSession:
    # aiohttp: its C parser keeps the load generator's own CPU small beside execflow's.
    return aiohttp.ClientSession(
        base_url=api,
        headers=HEADERS,
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=60),
    )


async def final_status(client: aiohttp.ClientSession, execution_id: str) -> str:
    """Follows the execution's event stream (SSE) to its end, as a watching client does,
    and returns the status it ends in: no polling, so nothing steals the CPU measured."""
    last = b""
    path = f"/api/v1/executions/{execution_id}/events?wait={KNOWN_WITHIN_S}"
    async with client.get(path, timeout=aiohttp.ClientTimeout(total=None)) as response:
        response.raise_for_status()
        async for line in response.content:
            if line.startswith(b"data:"):
                last = line[5:]
    body = json.loads(last)
    status: str = body.get("to_status") or body["status"]  # a change, or the snapshot
    return status


async def completed_count(conninfo: str, ids: list[str]) -> int:
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM executions WHERE id = ANY(%s) AND status = 'completed'",
            ([uuid.UUID(i) for i in ids],),
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def throughput(
    api: str, conninfo: str, n: int, concurrency: int, steps: int
) -> dict[str, Any]:
    body = chain(steps)
    ids: list[str] = []
    gate = asyncio.Semaphore(concurrency)
    async with client_session(api, concurrency) as client:

        async def submit() -> None:
            async with gate, client.post("/api/v1/executions", json=body) as response:
                response.raise_for_status()
                ids.append((await response.json())["id"])

        started = time.perf_counter()
        await asyncio.gather(*(submit() for _ in range(n)))
        submitted = time.perf_counter() - started
        while await completed_count(conninfo, ids) < n:  # noqa: ASYNC110 (polls the read model)
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    return {
        "executions": n,
        "steps_each": steps,
        "concurrency": concurrency,
        "submit_s": round(submitted, 2),
        "elapsed_s": round(elapsed, 2),
        "executions_per_s": round(n / elapsed, 1),
        "steps_per_s": round(n * steps / elapsed, 1),
    }


@dataclass(frozen=True)
class Watched:
    """One execution of the latency run: when it was posted and seen completed (epoch s)."""

    execution_id: str
    posted: float
    seen: float


async def latency(api: str, n: int, steps: int) -> tuple[dict[str, float], list[Watched]]:
    body = chain(steps)
    times: list[float] = []
    runs: list[Watched] = []
    async with client_session(api, 1) as client:
        for _ in range(n):
            posted, started = time.time(), time.perf_counter()
            async with client.post("/api/v1/executions", json=body) as response:
                execution_id = (await response.json())["id"]
            status = await final_status(client, execution_id)
            if status != "completed":
                raise RuntimeError(f"execution {execution_id} ended {status}")
            times.append((time.perf_counter() - started) * 1000)
            runs.append(Watched(execution_id, posted, time.time()))
    return percentiles(times), runs


async def dispatch_and_lag(
    conninfo: str, ids: list[str]
) -> tuple[dict[str, float], dict[str, float]]:
    """From the read models: step dispatched (scheduler) → process started (runner), and
    the completion event's time → the moment the executions row took it."""
    keys = [uuid.UUID(i) for i in ids]
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        cur = await conn.execute(
            "SELECT extract(epoch FROM (s.body->>'started_at')::timestamptz - d.at) * 1000"
            " FROM event_log d JOIN event_log s ON s.execution_id = d.execution_id"
            " AND s.type = 'StepStarted' AND s.body->>'step_id' = d.body->>'step_id'"
            " AND s.body->>'attempt' = d.body->>'attempt'"
            " WHERE d.type = 'StepDispatched' AND d.execution_id = ANY(%s)",
            (keys,),
        )
        dispatch = [float(r[0]) for r in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT extract(epoch FROM projected_at - updated_at) * 1000 FROM executions"
            " WHERE id = ANY(%s)",
            (keys,),
        )
        lag = [float(r[0]) for r in await cur.fetchall()]
    return percentiles(dispatch), percentiles(lag)


async def fanout_seconds(api: str, width: int) -> float:
    async with client_session(api, 1) as client:
        started = time.perf_counter()
        async with client.post("/api/v1/executions", json=fan_out(width)) as response:
            execution_id = (await response.json())["id"]
        await final_status(client, execution_id)
    return round(time.perf_counter() - started, 3)


async def jetstream_rate(nats_url: str, n: int) -> float:
    nc = await connect(nats_url, "bench")
    js = nc.jetstream()
    stream = f"BENCH_{uuid.uuid4().hex[:8]}"
    await js.add_stream(name=stream, subjects=[f"{stream}.x"])
    payload = b"x" * 200
    started = time.perf_counter()
    for offset in range(0, n, 1000):
        acks = [
            await js.publish_async(f"{stream}.x", payload) for _ in range(min(1000, n - offset))
        ]
        await asyncio.gather(*acks)
    elapsed = time.perf_counter() - started
    await js.delete_stream(stream)
    await nc.close()
    return round(n / elapsed)


def postgres_commit_rate(database_url: str, n: int) -> float:
    """Durable single-row commits, as the event store makes them: a logged table (a
    temporary one writes no WAL, so its commits wait for no flush and flatter the disk)."""
    table = f"bench_commits_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int, at timestamptz)")
        try:
            started = time.perf_counter()
            for i in range(n):
                conn.execute(f"INSERT INTO {table} VALUES (%s, now())", (i,))
            return round(n / (time.perf_counter() - started))
        finally:
            conn.execute(f"DROP TABLE {table}")


def process_rate(n: int, threads: int = 8) -> float:
    """`true` processes started and reaped per second, from several threads (a start
    blocks its thread until the child has exec'd)."""

    def one(_: int) -> None:
        subprocess.run(["true"], check=True)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(n)))
    return round(n / (time.perf_counter() - started))


def stored_events(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM execflow_events").fetchone()
        return int(row[0]) if row else 0


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


async def as_a_user(args: argparse.Namespace, api: str, pids: dict[str, int]) -> dict[str, Any]:
    """Process steps and function steps, each: throughput, CPU per execution, latency."""
    results: dict[str, Any] = {}
    counted = pids | {"bench client": os.getpid()}
    for kind in ("process", "function"):
        body = user_load.chain(kind, args.steps)
        await user_load.latency(api, 10, body)  # warm caches and connections
        before = cpu_seconds(counted)
        tp = await user_load.throughput(api, args.n, args.concurrency, body)
        after = cpu_seconds(counted)
        cpu = {
            name: round((after[name] - before[name]) * 1000 / args.n, 2)
            for name in after
            if name in before and (kind == "function" or name != "function worker")
        }
        cpu["execflow total"] = round(
            sum(ms for name, ms in cpu.items() if name != "bench client"), 2
        )
        results[f"{kind}_steps"] = {
            "throughput": tp,
            "latency_ms": percentiles(await user_load.latency(api, args.latency_n, body)),
            "cpu_ms_per_execution": cpu,
        }
    return results


async def measure(
    args: argparse.Namespace, stack: Stack, nats_url: str, db_url: str, pids: dict[str, int]
) -> dict[str, Any]:
    api = stack.config.api_url
    if args.sections == "user":
        return {"as_a_user": await as_a_user(args, api, pids), "machine": machine()}
    conninfo = schema_conninfo(db_url, SCHEMA)
    await latency(api, 10, args.steps)  # warm caches and connections
    events_before = stored_events(conninfo)
    counted = pids | {"bench client": os.getpid()}
    cpu_before = cpu_seconds(counted)
    with RssSampler(pids) as rss:
        tp = await throughput(api, conninfo, args.n, args.concurrency, args.steps)
    cpu_after = cpu_seconds(counted)
    # Steadier than rates on a shared machine, whose speed drifts between runs.
    cpu_ms = {
        name: round((cpu_after[name] - cpu_before[name]) * 1000 / args.n, 2)
        for name in cpu_after
        if name in cpu_before
    }
    cpu_ms["total"] = round(sum(cpu_ms.values()), 2)
    events = stored_events(conninfo) - events_before
    lat, watched = await latency(api, args.latency_n, args.steps)
    await asyncio.sleep(1.0)  # the event log projection catches up
    lat_ids = [w.execution_id for w in watched]
    dispatch, lag = await dispatch_and_lag(conninfo, lat_ids)
    hops = await breakdown(conninfo, [(w.execution_id, w.posted, w.seen) for w in watched])
    fanout = await fanout_seconds(api, args.fanout)
    limits = {
        "jetstream_publish_per_s": await jetstream_rate(nats_url, args.js_n),
        "postgres_commits_per_s": postgres_commit_rate(db_url, args.pg_n),
        "processes_per_s": process_rate(args.proc_n),
    }
    tp["stored_events_per_s"] = round(events / tp["elapsed_s"])
    limits["events_per_s_vs_postgres_commits"] = round(
        tp["stored_events_per_s"] / limits["postgres_commits_per_s"], 2
    )
    limits["step_processes_vs_machine"] = round(tp["steps_per_s"] / limits["processes_per_s"], 2)
    return {
        "as_a_user": await as_a_user(args, api, pids),
        "throughput": tp,
        "latency_ms": lat,
        "latency_breakdown_ms": hops,
        "dispatch_ms": dispatch,
        "projection_lag_ms": lag,
        "fanout_s": fanout,
        "fanout_width": args.fanout,
        "limits": limits,
        "peak_rss_mb": rss.peak_mb,
        "cpu_ms_per_execution": cpu_ms,
        # One scheduler always: it is the event store's single writer.
        "setup": {"runners": args.runners, "schedulers": 1},
        "machine": machine(),
    }


def report(results: dict[str, Any]) -> None:
    table = Table(title="execflow bench")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for kind, found in results["as_a_user"].items():
        tp, lat = found["throughput"], found["latency_ms"]
        table.add_row(
            f"as a user: {kind} ({tp['executions']}, {tp['concurrency']} at once)",
            f"{tp['executions_per_s']} executions/s; latency p50 {lat['p50']} p95 {lat['p95']}",
        )
        cpu = found["cpu_ms_per_execution"]
        table.add_row(
            f"as a user: {kind}, CPU per execution (ms)",
            ", ".join(f"{name} {ms}" for name, ms in cpu.items()),
        )
    if "throughput" not in results:
        Console().print(table)
        return
    tp = results["throughput"]
    table.add_row(
        f"throughput ({tp['executions']} x {tp['steps_each']} steps)",
        f"{tp['executions_per_s']} executions/s",
    )
    for name in ("latency_ms", "dispatch_ms", "projection_lag_ms"):
        r = results[name]
        table.add_row(name, f"p50 {r.get('p50')}  p95 {r.get('p95')}  p99 {r.get('p99')}")
    hops = results["latency_breakdown_ms"]
    table.add_row("latency p50 by hop (ms)", ", ".join(f"{hop} {ms}" for hop, ms in hops.items()))
    table.add_row(f"fan-out of {results['fanout_width']}", f"{results['fanout_s']} s")
    for key, value in results["limits"].items():
        table.add_row(key, str(value))
    for key, value in results["peak_rss_mb"].items():
        table.add_row(f"peak RSS {key}", f"{value} MB")
    cpu = results["cpu_ms_per_execution"]
    table.add_row("CPU per execution (ms)", ", ".join(f"{name} {ms}" for name, ms in cpu.items()))
    Console().print(table)


def function_worker(config: StackConfig, home: Path) -> subprocess.Popen[bytes]:
    """One worker process serving the function steps, as a user's service would."""
    log = (home / "logs" / "function-worker.log").open("ab")
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "function_worker.py")],
        # BENCH_WORKER_LOOP=asyncio: the worker's loop alone (EXECFLOW_EVENT_LOOP is the
        # services' too).
        env=config.env()
        | {
            "EXECFLOW_WORKER_ID": "bench-worker",
            "EXECFLOW_EVENT_LOOP": os.environ.get("BENCH_WORKER_LOOP", "uvloop"),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, under a minute")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--runners", type=int, default=1)
    parser.add_argument("--sections", choices=["all", "user"], default="all")
    args = parser.parse_args()
    args.latency_n, args.fanout = 200, 200
    args.js_n, args.pg_n, args.proc_n = 50_000, 2_000, 2_000
    if args.quick:
        args.n, args.latency_n = min(args.n, 300), 50
        args.js_n, args.pg_n, args.proc_n = 10_000, 500, 500

    home = Path(tempfile.mkdtemp(prefix="execflow-bench-"))
    nats = NatsServer(home / "nats").start()
    postgres = EmbeddedPostgres(home / "pg", cleanup="delete").start()
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
        extra_env={"EXECFLOW_LOG_LEVEL": "WARNING"},
        api_key=make_key(db_url, SCHEMA, name="bench"),
    )
    HEADERS.update(config.api_headers)
    # The user-load clients (execflow.AsyncClient) find it as a user's service would.
    os.environ["EXECFLOW_API_KEY"] = config.api_key or ""
    stack = Stack(config).start()
    extra = [
        ServiceProcess("runner", config, {"EXECFLOW_WORKER_ID": f"runner-{i}"}).start()
        for i in range(1, args.runners)
    ]
    worker = function_worker(config, home)
    try:
        stack.wait_ready()
        pids = {name: s.pid for name, s in stack.services.items() if s.pid}
        pids |= {f"{s.name}-{i}": s.pid for i, s in enumerate(extra, start=2) if s.pid}
        pids["function worker"] = worker.pid
        pids["nats-server"] = nats.pid
        pids["postgres"] = postgres.pid
        results = uvloop.run(measure(args, stack, nats.url, db_url, pids))
    finally:
        worker.terminate()
        worker.wait(10)
        for service in extra:
            service.stop()
        stack.stop()
        nats.stop()
        postgres.stop()
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(results, indent=2)
    (RESULTS / "latest.json").write_text(text)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"{stamp}{'-quick' if args.quick else ''}.json").write_text(text)
    report(results)
    print(f"results: {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
