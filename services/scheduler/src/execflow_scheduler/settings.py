"""The scheduler's settings."""

from execflow_platform import ServiceSettings


class SchedulerSettings(ServiceSettings):
    # Commands applied and saved in one transaction, at most.
    batch_size: int = 256
    # Aggregates kept in memory so that commands do not replay history.
    aggregate_cache_size: int = 10_000
    # A command not acknowledged within this time is delivered again.
    command_ack_wait_s: float = 10.0
    # A serving scheduler silent this long (frozen, paused) loses the writer lock to a
    # standby, and the writes it attempts when it wakes are refused.
    writer_takeover_s: float = 15.0
    # The runners' registration TTL (as theirs): how long one takes to register again.
    worker_ttl_s: float = 15.0
    # A schedule's fire due longer ago than this was missed (execflow was down): its
    # `catchup` policy decides whether it runs.
    schedule_grace_s: float = 5.0
    # A template or condition that could run away (a loop, a call, arithmetic) is
    # evaluated in a child process, stopped after this long and held to this much memory:
    # its step fails with the reason.
    expression_timeout_s: float = 0.5
    expression_memory_mb: int = 512
