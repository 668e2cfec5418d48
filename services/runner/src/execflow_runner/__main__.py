"""`execflow-runner`: run step work until SIGTERM. (It owns no tables: `migrate` has
nothing to do, and is there so that every service takes the same commands.)"""

import sys

from execflow_platform import run_service, service_command

from .sandbox import SandboxUnavailable
from .settings import RunnerSettings
from .wiring import serve


def main() -> None:
    settings = RunnerSettings()
    # Always asyncio's loop, whatever EXECFLOW_EVENT_LOOP says: the process backend reads
    # step output through pipe transports and waits on pidfds, and uvloop can still hold
    # a closed pipe's descriptor when the kernel hands its number out again.
    try:
        service_command(
            "runner", lambda: run_service("runner", settings, serve, event_loop="asyncio"), list
        )
    except SandboxUnavailable as exc:  # said plainly, with what to do: not a traceback
        sys.exit(f"execflow-runner: {exc}")


if __name__ == "__main__":
    main()
