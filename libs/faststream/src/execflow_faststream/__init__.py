"""execflow on the bus, for FastStream apps: `Execflow` sends commands, waits for the
scheduler's verdict and subscribes typed handlers to events; `document` is the AsyncAPI
document of every subject execflow reads or publishes (served at `/asyncapi`)."""

from .commands import COMMAND_CLASSES, Execflow
from .document import document

__all__ = ["COMMAND_CLASSES", "Execflow", "document"]
