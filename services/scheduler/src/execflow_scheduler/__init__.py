"""execflow's scheduler: applies commands to Execution aggregates and publishes events.

Its parts are imported from their modules (`execflow_scheduler.wiring`, `.domain`, …):
importing the package loads nothing else, so the pure domain comes without the bus and
the database drivers.
"""
