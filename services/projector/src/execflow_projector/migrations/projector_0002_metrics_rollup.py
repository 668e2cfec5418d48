"""The metrics rollup (projections/rollup.py), filled from the executions projected
before it, in the migration's transaction: a batch cannot write to the table before it
commits, and then counts only what is new to it."""

from yoyo import step

from execflow_projector.projections import rollup

steps = [
    step(rollup.NAMESPACE_COLUMN),
    step(rollup.DDL),
    step(rollup.FROM_EXECUTIONS.decode()),
]
