"""What the dashboard needs beyond the other endpoints: its board (cards per column, and
a stream of the cards that change) and the built front end, served at `/`."""

from .static import install_dashboard

__all__ = ["install_dashboard"]
