"""Sending commands: stored on the bus before the API answers."""

import asyncio

import nats.errors
from fastapi import HTTPException, status

from execflow_contracts import Command
from execflow_platform import Outgoing, publish_all

from .state import Services

PUBLISH_TIMEOUT_S = 5.0


async def send(svc: Services, command: Command) -> None:
    subject = svc.topology.command(command.execution_id, type(command).__name__)
    outgoing = Outgoing(subject, command.model_dump_json().encode(), command.dedupe_id)
    try:
        async with asyncio.timeout(PUBLISH_TIMEOUT_S):
            await publish_all(svc.js, [outgoing])
    except (TimeoutError, nats.errors.Error) as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the command bus is unavailable: {exc!r}"
        ) from None
