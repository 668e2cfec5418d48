"""execflow's REST API.

Its parts are imported from their modules (`execflow_api.wiring`, `.settings`, …):
importing the package loads nothing else.
"""
