"""The seeds' own API shapes, as adapters at the edge: each dialect translates its
requests into execflow's commands and answers from execflow's read models. Mounted in
`wiring.create_app`; execflow's own API is untouched by them."""

from . import julep, kinetic, kontinue, testplatform

ROUTERS = [
    kinetic.router,
    julep.router,
    testplatform.router,
    testplatform.agents.router,
    testplatform.pages,
    *kontinue.ROUTERS,
]

__all__ = ["ROUTERS"]
