"""execflow's projector: read models built from events and logs.

Its parts are imported from their modules (`execflow_projector.wiring`, `.schema`, …):
importing the package loads nothing else.
"""
