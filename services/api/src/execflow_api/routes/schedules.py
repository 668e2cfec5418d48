"""Schedules: run a registered workflow on a cron expression or an interval."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, status

from execflow_catalogue import catalog, schedules
from execflow_contracts import InvalidWorkflow, ScheduleList, ScheduleRequest, ScheduleView
from execflow_platform import command_limit
from execflow_workflows import check_input

from ..state import Deps

router = APIRouter(prefix="/api/v1/schedules", tags=["schedules"])


def present(row: dict[str, Any]) -> dict[str, Any]:
    body = dict(row)
    body["every"] = body.pop("every_s")
    body["status"] = "paused" if row["paused"] else "active"
    return body


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ScheduleView)
async def create(request: ScheduleRequest, svc: Deps) -> dict[str, Any]:
    """The workflow must exist and the input must fit it; fires start at the next
    cron time (or one interval from now)."""
    async with svc.pool.connection() as conn:
        registered = await catalog.get(
            conn, svc.caller.namespace, request.workflow_id, request.version
        )
        check_input(registered.definition.inputs, request.input)
        sample = registered.execution(
            uuid4(), request.input, request.metadata, request.priority, actor="schedule"
        )
        size, limit = len(sample.model_dump_json().encode()), command_limit(svc.nc)
        if size > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"each execution would take {size} bytes as a command; at most {limit} fit",
            )
        try:
            row = await schedules.create(
                conn, svc.caller.namespace, uuid4(), request, datetime.now(UTC)
            )
        except ValueError as exc:
            raise InvalidWorkflow(str(exc)) from None
    return present(row)


@router.get("", response_model=ScheduleList)
async def list_schedules(svc: Deps, workflow_id: str | None = None) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        return {
            "items": [
                present(r)
                for r in await schedules.list_all(conn, svc.caller.namespace, workflow_id)
            ]
        }


@router.get("/{schedule_id}", response_model=ScheduleView)
async def get_schedule(schedule_id: UUID, svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        return present(await schedules.get(conn, svc.caller.namespace, schedule_id))


@router.post("/{schedule_id}/pause", response_model=ScheduleView)
async def pause(schedule_id: UUID, svc: Deps) -> dict[str, Any]:
    async with svc.pool.connection() as conn:
        return present(
            await schedules.set_paused(
                conn, svc.caller.namespace, schedule_id, True, datetime.now(UTC)
            )
        )


@router.post("/{schedule_id}/resume", response_model=ScheduleView)
async def resume(schedule_id: UUID, svc: Deps) -> dict[str, Any]:
    """Fires again from the next time after now: a paused time is not caught up."""
    async with svc.pool.connection() as conn:
        return present(
            await schedules.set_paused(
                conn, svc.caller.namespace, schedule_id, False, datetime.now(UTC)
            )
        )


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(schedule_id: UUID, svc: Deps) -> None:
    async with svc.pool.connection() as conn:
        await schedules.delete(conn, svc.caller.namespace, schedule_id)
