"""execflow's client library and CLI."""

__all__: list[str] = []
