"""`make chaos`: the whole stack under real faults (services SIGKILLed, NATS and
PostgreSQL restarted, a writer paused past its takeover, NATS's data wiped) while
executions are submitted at a steady rate; then proof that every one ended, that no
step ran twice at once, and that the read models and the stream match the event store."""
