"""The projector's settings."""

from execflow_platform import ServiceSettings


class ProjectorSettings(ServiceSettings):
    # Messages applied in one transaction, at most.
    batch_size: int = 256
    # A batch not acknowledged within this time is delivered again.
    ack_wait_s: float = 10.0
