"""execflow's operations: `execflow up`, provisioning (streams and every service's
tables), `execflow projections rebuild`. They sit above the services and plug into the
client's CLI through entry points, so importing the package loads nothing else: the
CLI stays quick, and its commands import what they run when they run."""
