"""What the bubblewrap sandbox costs a process step's start.

Runs `echo ready` through the runner's process backend, with the sandbox and without,
in interleaved pairs (which one goes first alternates), and prints, for each, the time
from `run()` to the step's first output line (its start) and to its exit (the whole
of a step that does nothing), as p50 / p90 / mean over the pairs, and the median of
the pairs' differences.

    uv run --all-packages python bench/sandbox_start.py [--pairs 200]
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from execflow_contracts import RunSpec, StepWork
from execflow_runner.backends import ProcessBackend
from execflow_runner.sandbox import Sandbox, find_bwrap

Timing = tuple[float, float]  # (to the first line, to the exit), in ms


async def once(backend: ProcessBackend, workspace: Path) -> Timing:
    work = StepWork(
        execution_id=uuid4(),
        step_id="s",
        attempt=1,
        queue="default",
        run=RunSpec(command=["echo", "ready"]),
        dispatched_at=datetime.now(UTC),
    )
    loop = asyncio.get_running_loop()
    first: asyncio.Future[float] = loop.create_future()

    def on_line(_stream: str, _text: str) -> None:
        if not first.done():
            first.set_result(time.perf_counter())

    began = time.perf_counter()
    outcome = await backend.run(work, workspace, on_line, lambda: None)
    ended = time.perf_counter()
    assert outcome.exit_code == 0, outcome
    return ((await first) - began) * 1000, (ended - began) * 1000


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p50, p90 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.9)]
    return f"{name:<28} p50 {p50:6.2f}  p90 {p90:6.2f}  mean {statistics.fmean(values):6.2f} ms"


async def main(pairs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="execflow-bench-") as folder:
        root = Path(folder)
        sandbox = Sandbox.make(find_bwrap(), hidden=[root / "data"])
        backends = {"off": ProcessBackend(), "bwrap": ProcessBackend(sandbox)}
        timings: dict[str, list[Timing]] = {"off": [], "bwrap": []}
        for name in timings:  # warm up: imports, the page cache
            for _ in range(5):
                await once(backends[name], root)
        for pair in range(pairs):
            order = ["off", "bwrap"] if pair % 2 == 0 else ["bwrap", "off"]
            for name in order:
                timings[name].append(await once(backends[name], root))
    for index, what in enumerate(["first line", "exit"]):
        for name, measured in timings.items():
            print(summary(f"{what}, sandbox {name}", [t[index] for t in measured]))
        paired = zip(timings["off"], timings["bwrap"], strict=True)
        added = statistics.median(b[index] - o[index] for o, b in paired)
        print(f"{what}: the sandbox adds {added:.2f} ms (median of pairs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200)
    asyncio.run(main(parser.parse_args().pairs))
