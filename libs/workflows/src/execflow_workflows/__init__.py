"""execflow's workflow language and catalogue: CEL conditions, Jinja templates, the
checks a workflow passes before it runs, registered definitions, schedules, queue limits."""

from . import catalog, conditions, queues, schedules, templates
from .catalog import Registered
from .errors import ExpressionError
from .rhythm import Rhythm, plan
from .schema import migrate
from .validation import ancestors, check_input, check_input_schema, check_workflow, problems

__all__ = [
    "ExpressionError",
    "Registered",
    "Rhythm",
    "ancestors",
    "catalog",
    "check_input",
    "check_input_schema",
    "check_workflow",
    "conditions",
    "migrate",
    "plan",
    "problems",
    "queues",
    "schedules",
    "templates",
]
