"""The AsyncAPI document of execflow's bus lists every message of the contracts, each on
its subject, in the direction execflow uses it."""

import inspect
from typing import Any

from pydantic import BaseModel

import execflow_contracts
from execflow_contracts import Topology
from execflow_faststream import document


def bus_messages() -> set[type[BaseModel]]:
    """Every message type of the contracts: a model that carries a `schema_version`,
    and that no other message specialises (the bases, Command or StatusChanged, are not
    sent as themselves)."""
    models = {
        value
        for value in vars(execflow_contracts).values()
        if inspect.isclass(value)
        and issubclass(value, BaseModel)
        and "schema_version" in value.model_fields
    }
    return {m for m in models if not any(o is not m and issubclass(o, m) for o in models)}


def payloads(spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Schema name → (address, action) of the channels carrying it."""
    messages = spec["components"]["messages"]
    found = {}
    for operation in spec["operations"].values():
        channel = spec["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]
        for reference in channel["messages"].values():
            message = messages[reference["$ref"].rsplit("/", 1)[-1].replace("%20", " ")]
            schema = message["payload"].get("$ref", "").rsplit("/", 1)[-1]
            found[schema] = (channel["address"], operation["action"])
    return found


def test_every_message_of_the_contracts_is_in_the_document_on_its_subject() -> None:
    spec = document(Topology("ex"))
    assert spec["asyncapi"] == "3.0.0"
    listed = payloads(spec)
    expected = {m.__name__ for m in bus_messages()}
    assert len(expected) > 40  # commands, events, work, log chunks, registrations, verdicts
    assert expected - set(listed) == set()
    assert listed["CreateExecution"] == ("ex.cmd.{execution_id}.CreateExecution", "receive")
    assert listed["ReportStepFinished"] == ("ex.cmd.{execution_id}.ReportStepFinished", "receive")
    assert listed["ExecutionCompleted"] == ("ex.evt.{execution_id}.ExecutionCompleted", "send")
    assert listed["LogChunk"] == ("ex.log.{execution_id}.{step_id}", "send")
    assert listed["CommandOutcome"] == ("{reply_to}", "send")
    assert listed["WorkerInfo"] == ("$KV.EX_WORKERS.{worker_id}", "send")
    works = {
        spec["channels"][name]["address"]
        for name in spec["channels"]
        if name in ("StepWork", "FunctionWork")
    }
    assert works == {"ex.work.{queue}", "ex.work.{queue}.fn.{function}"}
