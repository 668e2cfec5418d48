"""execflow's workflow language, pure: CEL conditions, Jinja templates, schedule
rhythms, and the checks a workflow passes before it runs. No I/O."""

from . import conditions, isolation, templates
from .errors import ExpressionError
from .rhythm import Rhythm, plan
from .validation import ancestors, check_input, check_input_schema, check_workflow, problems

__all__ = [
    "ExpressionError",
    "Rhythm",
    "ancestors",
    "check_input",
    "check_input_schema",
    "check_workflow",
    "conditions",
    "isolation",
    "plan",
    "problems",
    "templates",
]
