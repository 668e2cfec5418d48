"""How a service process runs: logging, signals, a clean stop."""

import argparse
import asyncio
import contextlib
import functools
import gc
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import uvloop

import execflow_telemetry as telemetry
from execflow_bus import log_retries

from .settings import EventLoop, ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def configure_logging(level: str, service: str, log_format: telemetry.LogFormat = "text") -> None:
    telemetry.configure(level, service, log_format)
    log_retries()


async def run_until_stopped(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `main(stop)`; SIGTERM or SIGINT sets `stop` so it can finish its batch."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await main(stop)


def freeze_loaded_objects() -> None:
    """What a service has loaded before it serves (modules, pydantic's validators) lives
    as long as the process: keep it out of the cycle collector. Full passes over it took
    some 40 ms of CPU each, and showed as latency spikes."""
    gc.collect()
    gc.freeze()


def run_service(
    name: str,
    settings: S,
    serve: Callable[[S, asyncio.Event], Awaitable[None]],
    event_loop: EventLoop | None = None,
) -> None:
    """A service's `main`: log, then serve until SIGTERM or SIGINT, on `event_loop` or
    else the one its settings name."""
    configure_logging(settings.log_level, name, settings.log_format)
    telemetry.tracing.setup_tracing(name)
    metrics = telemetry.metrics.serve_metrics(settings.metrics_port, settings.metrics_host)
    freeze_loaded_objects()
    main = run_until_stopped(functools.partial(serve, settings))
    try:
        if (event_loop or settings.event_loop) == "uvloop":
            uvloop.run(main)
        else:
            asyncio.run(main)
    finally:
        if metrics is not None:
            metrics.shutdown()
        telemetry.tracing.shutdown_tracing()  # the last spans are exported


def service_command(
    name: str,
    serve: Callable[[], None],
    migrate: Callable[[], Sequence[str]],
    argv: Sequence[str] | None = None,
) -> None:
    """`execflow-NAME` serves; `execflow-NAME migrate` creates or updates the tables the
    service owns, then exits (run it before the service, once per deployment)."""
    parser = argparse.ArgumentParser(prog=f"execflow-{name}")
    parser.add_argument("command", nargs="?", choices=("serve", "migrate"), default="serve")
    if parser.parse_args(argv).command == "serve":
        serve()
        return
    applied = migrate()
    print(f"execflow-{name}: {len(applied)} migration(s) applied", *applied, sep="\n  ")
