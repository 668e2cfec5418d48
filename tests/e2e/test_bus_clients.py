"""A service on the bus talks to execflow with FastStream (no HTTP): it creates an
execution of a registered workflow by its id, hears the scheduler's verdict, and handles
the execution's events with typed handlers. And the document of the bus, at /asyncapi."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from faststream.nats import NatsBroker

from execflow_contracts import (
    CreateExecution,
    ExecutionCompleted,
    ExecutionCreated,
    InvalidInput,
    StepSucceeded,
    Topology,
    WorkflowNotFound,
)
from execflow_devstack import Stack
from execflow_faststream import Execflow

from .conftest import wait_finished


def register(api: httpx.Client) -> str:
    name = f"greet-{uuid.uuid4().hex[:8]}"
    definition = {
        "id": name,
        "inputs": {"type": "object", "required": ["who"]},
        "steps": [
            {
                "id": "hello",
                "output": "stdout-json",
                "run": {
                    "command": ["sh", "-c", 'echo "{\\"hi\\": \\"$WHO\\"}"'],
                    "env": {"WHO": "{{ inputs.who }}"},
                },
            }
        ],
    }
    response = api.post("/api/v1/workflows", json=definition)
    assert response.status_code == 201, response.text
    return name


def test_a_faststream_app_creates_by_workflow_id_and_hears_the_events(
    api: httpx.Client, stack: Stack
) -> None:
    name = register(api)
    execution_id = uuid.uuid4()
    heard: list[Any] = []
    durable = f"d{uuid.uuid4().hex[:8]}"

    async def scenario() -> Any:
        broker = NatsBroker(stack.config.nats_url)
        execflow = Execflow(broker, Topology(stack.config.bus_prefix))
        done = asyncio.Event()

        @execflow.on(StepSucceeded, ExecutionCompleted, execution_id=execution_id)
        async def live(event: StepSucceeded | ExecutionCompleted) -> None:
            heard.append(event)
            if isinstance(event, ExecutionCompleted):
                done.set()

        created: list[ExecutionCreated] = []

        @execflow.on(ExecutionCreated, durable=durable)
        async def kept(event: ExecutionCreated) -> None:
            if event.execution_id == execution_id:
                created.append(event)

        async with broker:
            await broker.start()
            outcome = await execflow.request(
                CreateExecution(execution_id=execution_id, workflow_id=name, input={"who": "bus"})
            )
            assert outcome is not None and outcome.accepted
            await asyncio.wait_for(done.wait(), 20)
            for _ in range(100):
                if created:
                    break
                await asyncio.sleep(0.05)
            return created

    created = asyncio.run(scenario())
    assert [type(e).__name__ for e in heard] == ["StepSucceeded", "ExecutionCompleted"]
    assert heard[1].output == {"hello": {"hi": "bus"}}
    # The execution records the whole spec it ran, and which registered workflow it was.
    assert created[0].workflow_id == name and created[0].workflow_version == 1
    assert created[0].workflow.steps[0].id == "hello"
    body = wait_finished(api, str(execution_id))  # the read models trail the events
    assert (body["status"], body["workflow_id"]) == ("completed", name)


def test_a_create_the_scheduler_refuses_raises_its_error(api: httpx.Client, stack: Stack) -> None:
    name = register(api)

    async def send(command: CreateExecution) -> None:
        broker = NatsBroker(stack.config.nats_url)
        execflow = Execflow(broker, Topology(stack.config.bus_prefix))
        async with broker:
            await broker.start()
            await execflow.request(command)

    with pytest.raises(WorkflowNotFound, match="workflow 'no-such' not found"):
        asyncio.run(send(CreateExecution(execution_id=uuid.uuid4(), workflow_id="no-such")))
    with pytest.raises(InvalidInput, match="'who' is a required property"):
        asyncio.run(send(CreateExecution(execution_id=uuid.uuid4(), workflow_id=name, input={})))


def test_the_bus_is_documented_at_asyncapi(api: httpx.Client, stack: Stack) -> None:
    document = api.get("/asyncapi").json()
    assert document["asyncapi"] == "3.0.0"
    prefix = stack.config.bus_prefix
    address = document["channels"]["CreateExecution"]["address"]
    assert address == f"{prefix}.cmd.{{execution_id}}.CreateExecution"
    assert document["operations"]["ExecutionCompleted"]["action"] == "send"
