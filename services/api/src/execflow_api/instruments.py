"""The API's Prometheus metrics (served at `/metrics` with every other of this process)."""

from prometheus_client import Counter, Gauge

SSE_CLIENTS = Gauge("execflow_sse_clients", "Open live streams (server-sent events)")
COMMANDS_SENT = Counter(
    "execflow_api_commands_sent", "Commands the API stored on the bus, by type", ["type"]
)
AGENT_LEASES = Gauge("execflow_agent_leases", "Steps leased to remote agents through this API")
