"""The workflow language's own error, turned into a step failure or a 422 by its callers."""


class ExpressionError(ValueError):
    """A condition or template that does not parse, or fails to evaluate."""
