"""A function worker: serves the functions registered on it to execflow's steps.

    worker = Worker()                       # EXECFLOW_NATS_URL, EXECFLOW_BUS_PREFIX, ...

    @worker.function("resize-image")
    async def resize(args: Resize, ctx: Context) -> Resized: ...

    worker.run(queues=["default"], capacity=8)

A step `run: {function: "resize-image", args: {...}}` goes to a worker serving that
function on the step's queue. Its work message is leased as a runner leases one (in-
progress acks; another worker takes it over if this one dies), and acknowledged only
once the finish report is stored.
"""

import asyncio
import logging
import os
import signal
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import uvloop
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from execflow_artifacts import ArtifactStore, Uploader
from execflow_bus import (
    LeaseKeeper,
    Registration,
    Slots,
    StepControls,
    StreamKeeper,
    connect,
    durable_pull_consumer,
    ensure_registry,
    ensure_streams,
    may_start,
    pull_subscription,
    take_work,
    work_to_start,
)
from execflow_contracts import (
    InputProvided,
    RunningStep,
    StepStopRequested,
    StepWork,
    WorkerInfo,
    queue_key,
    split_queue_key,
)
from execflow_telemetry import steps, tracing

from .attempt import FunctionAttempt
from .calls import Call, ChildCall, CoroutineCall, ThreadCall
from .capture import LineSink, capturing
from .functions import Function, describe
from .settings import WorkerSettings

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
Key = tuple[str, str, int]
Subscriber = Callable[[], Awaitable[JetStreamContext.PullSubscription]]
REMEMBERED_ATTEMPTS = 10_000


class Worker:
    def __init__(self, settings: WorkerSettings | None = None, **overrides: Any) -> None:
        """Settings from `EXECFLOW_*` variables, or `settings`; `overrides` win
        (`Worker(nats_url=..., bus_prefix=...)`). Nothing connects until `run`/`serve`."""
        base = settings or WorkerSettings()
        self.settings = base.model_copy(update=overrides) if overrides else base
        self._functions: dict[str, Function] = {}

    def function(self, name: str, *, hard_stop: bool = False) -> Callable[[F], F]:
        """Serve the decorated function as `name`; it is returned unchanged.

        It takes its input (a pydantic model, or any type pydantic validates: the step's
        `args` are validated into it) and, optionally, a `Context`; what it returns (its
        return annotation validates it) is the step's output. A sync function runs in a
        thread of the worker; with `hard_stop`, in a child process that is killed when it
        does not stop within the grace (it must then be defined at a module's top level).
        """

        def register(call: F) -> F:
            if name in self._functions:
                raise ValueError(f"function {name!r} is registered already")
            self._functions[name] = describe(name, call, hard_stop)
            return call

        return register

    @property
    def functions(self) -> list[str]:
        return sorted(self._functions)

    def run(self, queues: Iterable[str] = ("default",), capacity: int = 16) -> None:
        """Serve until SIGINT or SIGTERM, then finish the steps under way and leave."""

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await self.serve(queues, capacity, stop)

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        if self.settings.event_loop == "uvloop":
            uvloop.run(main())  # a quarter less of the worker's CPU per step than asyncio's
        else:
            asyncio.run(main())

    async def serve(
        self,
        queues: Iterable[str] = ("default",),
        capacity: int = 16,
        stop: asyncio.Event | None = None,
        ready: asyncio.Event | None = None,
    ) -> None:
        """Serve until `stop` is set (for a program that has its own event loop)."""
        if not self._functions:
            raise ValueError("no function registered: decorate some with @worker.function")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        keys = [queue_key(self.settings.namespace, queue) for queue in queues]
        for key in keys:
            split_queue_key(key)  # a ValueError naming a queue that cannot be one
        serving = Serving(self.settings, self._functions, keys, capacity)
        await serving.run(stop or asyncio.Event(), ready)


class Serving:
    """One run of a worker: its connection, consumers, registration and steps."""

    def __init__(
        self,
        settings: WorkerSettings,
        functions: dict[str, Function],
        queues: list[str],  # by key
        capacity: int,
    ) -> None:
        self._settings = settings
        self._topology = settings.topology
        self._functions = functions
        self._queues = queues
        self._slots = Slots(capacity)
        self._attempts: dict[Key, FunctionAttempt] = {}
        # The attempts this worker has run to their end, the latest ones.
        self._done: OrderedDict[Key, None] = OrderedDict()
        self._steps: dict[Key, RunningStep] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._controls = StepControls(self._stop, self._answer)
        self._threads = ThreadPoolExecutor(capacity, thread_name_prefix="execflow-function")
        self._end_capture: Callable[[LineSink], None] = lambda sink: None
        store = ArtifactStore(settings.artifact_store_url)
        self._uploader = Uploader(store, settings.artifact_max_bytes)

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None) -> None:
        settings = self._settings
        nc = await connect(settings.nats_url, f"execflow-worker-{settings.worker_id}")
        js = nc.jetstream()
        self._nc, self._js = nc, js
        try:
            await ensure_streams(js, self._topology)
            keeper = StreamKeeper(js, self._topology)
            await keeper.check()
            subscribers = [
                self._subscriber(queue, name) for queue in self._queues for name in self._functions
            ]
            kv = await ensure_registry(js, self._topology, settings.worker_ttl_s)
            registration = Registration(
                kv, self._describe(), self.running_steps, settings.worker_ttl_s
            )
            await registration.beat()
            background = [
                asyncio.create_task(registration.keep_alive()),
                asyncio.create_task(keeper.run(stop)),
                asyncio.create_task(
                    self._controls.keep_following(nc, self._topology, keeper, stop)
                ),
            ]
            log.info(
                "worker %s serves %s on queues %s",
                settings.worker_id,
                ", ".join(self._functions),
                ", ".join(self._queues),
            )
            if ready is not None:
                ready.set()
            try:
                with capturing() as end_capture:
                    self._end_capture = end_capture
                    await self._take(subscribers, keeper, stop)
            finally:
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
                await registration.leave()
        finally:
            self._threads.shutdown(wait=False, cancel_futures=True)
            await nc.close()

    def running_steps(self) -> list[RunningStep]:
        return list(self._steps.values())

    def _subscriber(self, queue: str, name: str) -> Subscriber:
        """Binds the durable consumer of a queue's function (again, after its stream was
        made anew)."""

        async def subscribe() -> JetStreamContext.PullSubscription:
            return await pull_subscription(
                self._js,
                self._topology.work_stream,
                durable_pull_consumer(
                    self._topology.function_consumer(queue, name),
                    self._topology.function_work(queue, name),
                    self._settings.lease_s,
                ),
            )

        return subscribe

    async def _take(
        self, subscribers: list[Subscriber], keeper: StreamKeeper, stop: asyncio.Event
    ) -> None:
        share = max(1, self._slots.capacity // len(subscribers))
        closing = asyncio.create_task(stop.wait())
        closing.add_done_callback(lambda _: self._slots.close())
        try:
            await asyncio.gather(
                *(take_work(s, keeper, self._slots, share, self._start, stop) for s in subscribers)
            )
        finally:
            closing.cancel()
        # Stopping: no more work is taken; the steps under way finish.
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start(self, message: Msg) -> None:
        task = asyncio.get_running_loop().create_task(self._run_one(message))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: "asyncio.Task[None]") -> None:
        self._tasks.discard(task)
        self._slots.give_back()
        if not task.cancelled() and task.exception() is not None:
            log.error("function step failed", exc_info=task.exception())

    async def _run_one(self, message: Msg) -> None:
        work = await work_to_start(self._js, self._topology, self._controls, message)
        if work is None:
            return
        # A span for the run, continuing the dispatch's trace (when tracing is on).
        span = steps.start_run(message, work, self._settings.worker_id)
        try:
            with tracing.current(span):
                await self._run_work(message, work)
        finally:
            if span is not None:
                span.end()

    async def _run_work(self, message: Msg, work: StepWork) -> None:
        # Its subject is its function's: a consumer of this worker's took it.
        function = self._functions[work.run.function or ""]
        key: Key = (str(work.execution_id), work.step_id, work.attempt)
        ran_here = key in self._done or key in self._attempts
        if not await may_start(self._js, self._topology, message, work, ran_here):
            return
        attempt = FunctionAttempt(
            self._js,
            self._topology,
            work,
            message.metadata.num_delivered,
            self._settings.worker_id,
            function,
            self._make_call,
            self._settings.stop_grace_s,
            self._end_capture,
            self._uploader,
        )
        self._attempts[key] = attempt
        self._steps[key] = RunningStep(
            execution_id=work.execution_id,
            step_id=work.step_id,
            attempt=work.attempt,
            backend="function",
            started_at=datetime.now(UTC),
            namespace=work.namespace,
        )
        # A lease lost (the bus out of reach for longer): the work may run elsewhere now,
        # so the call is stopped and reports nothing.
        lease = LeaseKeeper(self._nc, message, self._settings.lease_s, attempt.abandon)
        try:
            await attempt.run()
            if not attempt.abandoned:
                await message.ack()
                self._done[key] = None
                while len(self._done) > REMEMBERED_ATTEMPTS:
                    self._done.popitem(last=False)
        finally:
            lease.stop()
            self._attempts.pop(key, None)
            self._steps.pop(key, None)

    def _make_call(self, function: Function, *args: Any) -> Call:
        if function.is_async:
            return CoroutineCall(function, *args)
        if function.hard_stop:
            return ChildCall(function, *args)
        return ThreadCall(self._threads, function, *args)

    def _stop(self, event: StepStopRequested) -> None:
        attempt = self._attempts.get((str(event.execution_id), event.step_id, event.attempt))
        if attempt is not None:
            log.info("stopping %s/%s: %s", event.execution_id, event.step_id, event.reason)
            attempt.stop(event.reason)

    def _answer(self, event: InputProvided) -> None:
        for (execution_id, step_id, _), attempt in self._attempts.items():
            if (execution_id, step_id) == (str(event.execution_id), event.step_id):
                attempt.answer(event.value)

    def _describe(self) -> WorkerInfo:
        now = datetime.now(UTC)
        return WorkerInfo(
            id=self._settings.worker_id,
            host=socket.gethostname(),
            pid=os.getpid(),
            queues=self._queues,
            backends=["function"],
            kind="function",
            capacity=self._slots.capacity,
            functions=sorted(self._functions),
            started_at=now,
            last_heartbeat=now,
        )
