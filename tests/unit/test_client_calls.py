"""Which requests the clients send again, and when: a request is sent twice only if
twice does what once does (a read, a create with an Idempotency-Key), or if it was never
sent at all."""

import httpx

from execflow.calls import ApiError, command, create_execution, get_execution


def test_reads_and_creates_are_sent_again_after_a_lost_answer_or_a_busy_api() -> None:
    create = create_execution({"workflow_id": "w"}, None)
    assert create.headers["Idempotency-Key"]  # every create has one
    assert create_execution({}, None).headers != create.headers
    assert create_execution({}, "mine").headers == {"Idempotency-Key": "mine"}
    for call in (create, get_execution("x")):
        assert call.worth_again(httpx.ReadTimeout("lost"))
        assert call.worth_again(httpx.RemoteProtocolError("dropped"))
        assert call.worth_again(ApiError(503, "the command bus is unavailable"))
        assert not call.worth_again(ApiError(409, "conflict"))
        assert not call.worth_again(ApiError(500, "a fault"))


def test_a_command_is_sent_again_only_if_it_never_left() -> None:
    cancel = command("x", "cancel", {"reason": ""})
    assert cancel.worth_again(httpx.ConnectError("refused"))
    assert not cancel.worth_again(httpx.ReadTimeout("lost: it may have been applied"))
    assert not cancel.worth_again(ApiError(503, "busy"))
