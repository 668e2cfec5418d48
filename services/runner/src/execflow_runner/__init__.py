"""execflow's runner: leases step work and runs it on a backend.

Its parts are imported from their modules (`execflow_runner.wiring`, `.worker`, …):
importing the package loads nothing else.
"""
