"""One retry policy for what talks to the network: exponential backoff with jitter
(stamina), from 0.1 s up to 5 s between tries. Loops that must never die retry for
ever; each pass of such a loop takes a fresh policy, so a success starts it over."""

import asyncio
import logging
from collections.abc import AsyncIterable

import stamina
from stamina.instrumentation import RetryDetails, set_on_retry_hooks

log = logging.getLogger(__name__)

WAIT_INITIAL_S = 0.1
WAIT_MAX_S = 5.0


def retrying(
    on: type[Exception] | tuple[type[Exception], ...] = Exception,
    attempts: int | None = None,
    timeout_s: float | None = None,
    stop: asyncio.Event | None = None,
) -> AsyncIterable[stamina.Attempt]:
    """`async for attempt in retrying(...): with attempt: ...` — again after a failure
    of the kinds `on` names, until it works; the last failure is raised once `attempts`
    or `timeout_s` run out, or `stop` is set (a stopping service does not wait for the
    network to come back)."""

    def worth_again(exc: Exception) -> bool:
        return isinstance(exc, on) and not (stop is not None and stop.is_set())

    return stamina.retry_context(
        on=worth_again,
        attempts=attempts,
        timeout=timeout_s,
        wait_initial=WAIT_INITIAL_S,
        wait_max=WAIT_MAX_S,
    )


def log_retries() -> None:
    """Say each retry in the service's log, as one readable line (stamina's own hook
    logs an event name with the details out of sight)."""
    set_on_retry_hooks([_log_retry])


def _log_retry(details: RetryDetails) -> None:
    log.warning(
        "%s failed (%r); trying again in %.1f s (retry %d)",
        details.name,
        details.caused_by,
        details.wait_for,
        details.retry_num,
    )
