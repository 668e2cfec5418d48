"""Schemathesis over the API's own OpenAPI document, sent with an admin key to a running
stack: whatever a client sends to any route, the answer is never a 5xx."""

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from execflow_devstack import Stack

# Each operation gets this many generated requests (and its explicit examples): the
# whole document, some 2,000 requests, in about a minute here.
EXAMPLES = 25
# Left out: routes whose answers do not end (server-sent events) or wait as long as the
# request asks (an agent's long-polling claim).
UNENDING = r"(/stream|/events|/claims/next)$"
WATCHING = ("watch", "follow")


def unavailable_by_design(response: Any) -> bool:
    """The environments routes say 503 on a machine with no Docker engine (as this one
    may be): the one 5xx that is the truth, not a fault."""
    return response.status_code == 503 and "no Docker engine is reachable" in response.text


def operations(stack: Stack) -> list[Any]:
    schema = schemathesis.openapi.from_url(
        f"{stack.config.api_url}/openapi.json", headers=stack.config.api_headers
    )
    return [result.ok() for result in schema.exclude(path_regex=UNENDING).get_all_operations()]


def test_no_request_is_answered_with_a_server_error(stack: Stack) -> None:
    # Operation by operation (schemathesis's pytest plugin does not run on this pytest):
    # every failure is collected, so one run names them all.
    failures: list[str] = []
    checked = 0
    for operation in operations(stack):

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
            derandomize=True,  # the same requests each run: a failure is one to reproduce
            database=None,
        )
        def send(case: Any) -> None:
            nonlocal checked
            for unending in WATCHING:  # a watch streams until the client leaves
                (case.query or {}).pop(unending, None)
            response = case.call(
                base_url=stack.config.api_url, headers=stack.config.api_headers, timeout=15
            )
            checked += 1
            if response.status_code >= 500 and not unavailable_by_design(response):
                failures.append(
                    f"{case.method} {case.formatted_path} → {response.status_code}:"
                    f" {response.text[:500]}\n{case.as_curl_command()}"
                )

        send()
    print(f"{checked} requests over {len(operations(stack))} operations")
    assert checked > 0
    assert not failures, "\n\n".join(failures[:20])
