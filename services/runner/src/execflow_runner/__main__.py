"""`execflow-runner`: run step work until SIGTERM."""

from execflow_platform import run_service

from .settings import RunnerSettings
from .wiring import serve


def main() -> None:
    # Always asyncio's loop, whatever EXECFLOW_EVENT_LOOP says: the process backend reads
    # step output through pipe transports and waits on pidfds, and uvloop can still hold
    # a closed pipe's descriptor when the kernel hands its number out again.
    run_service("runner", RunnerSettings(), serve, event_loop="asyncio")


if __name__ == "__main__":
    main()
