"""What a step's conditions and templates mean for one execution, at dispatch time.

Conditions are CEL and templates sandboxed Jinja (execflow_workflows), over
`inputs`, `metadata`, `steps.<id>.{output,status}` and `execution.id`. Pure: the
same execution state gives the same answers, so a replay decides the same way.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol
from uuid import UUID

from execflow_contracts import StepSpec, StepStatus, WorkflowSpec
from execflow_workflows import ExpressionError, conditions, templates

__all__ = ["ExpressionError", "WorkflowRules"]

# The rendered run spec travels in the step's dispatch event and its work message, one
# bus message each (1 MB by default); Linux takes at most 128 KiB in one argument anyway.
MAX_RUN_BYTES = 256 * 1024
# A rendered concurrency key names a gate, a key in a b-tree index (which refuses entries
# over about 2.7 KB): a key of a customer or a tenant, not a document.
MAX_GATE_KEY = 256


class StepOutcome(Protocol):
    status: StepStatus
    output: Any


@dataclass(frozen=True)
class WorkflowRules:
    spec: WorkflowSpec
    execution_id: UUID
    input: Any
    metadata: dict[str, Any]
    steps: Mapping[str, StepOutcome]

    @cached_property
    def context(self) -> dict[str, Any]:
        """What templates and conditions see: made once, and only when one asks (it
        holds every step, and a step without either is dispatched in constant time)."""
        return {
            "inputs": self.input if self.input is not None else {},
            "metadata": self.metadata,
            "steps": {
                step_id: {"status": step.status.value, "output": step.output}
                for step_id, step in self.steps.items()
            },
            "execution": {"id": str(self.execution_id)},
        }

    def _render(self, value: Any) -> Any:
        return templates.render(value, self.context) if templates.strings_in(value) else value

    def skip_reason(self, step: StepSpec) -> str | None:
        """Why the step is skipped, or None if it runs; raises ExpressionError."""
        if step.when is None or conditions.evaluate(step.when, self.context):
            return None
        return f"condition is false: {step.when}"

    def run(self, step: StepSpec) -> dict[str, Any]:
        """The step's run spec with its command, env and workdir (or a function's args)
        rendered; raises ExpressionError if it renders larger than its work message may be."""
        assert step.run is not None
        rendered: dict[str, Any] = step.run.model_dump(mode="json")
        if step.run.function is not None:
            rendered["args"] = self._render(step.run.args)
        else:
            rendered |= {
                "command": self._render(step.run.command),
                "env": self._render(self.spec.defaults.env | step.run.env),
                "workdir": self._render(step.run.workdir),
            }
        size = len(json.dumps(rendered, ensure_ascii=False).encode())
        if size > MAX_RUN_BYTES:
            raise ExpressionError(
                f"the rendered {'args' if step.run.function else 'command and environment'}"
                f" take {size} bytes;"
                f" at most {MAX_RUN_BYTES} fit in the step's work message"
            )
        return rendered

    def child_input(self, step: StepSpec) -> Any:
        return self._render(step.input)

    def gates(self, workflow_id: str | None) -> list[dict[str, Any]]:
        """The concurrency limits the execution's work waits for."""
        found: list[dict[str, Any]] = []
        concurrency = self.spec.concurrency
        if concurrency is not None:
            key = str(self._render(concurrency.key))
            if len(key) > MAX_GATE_KEY:
                raise ExpressionError(
                    f"the concurrency key renders to {len(key)} characters; at most {MAX_GATE_KEY}"
                )
            found.append({"name": f"concurrency key '{key}'", "max": concurrency.max})
        if self.spec.max_running is not None and workflow_id is not None:
            found.append({"name": f"workflow '{workflow_id}'", "max": self.spec.max_running})
        return found
