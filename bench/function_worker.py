"""The bench's function worker: a user's service serving `noop` (the function steps'
`true`), started as a process of its own (EXECFLOW_NATS_URL, EXECFLOW_BUS_PREFIX)."""

import os

from pydantic import BaseModel

from execflow_worker import Worker


class Nothing(BaseModel):
    pass


worker = Worker()


@worker.function("noop")
async def noop(args: Nothing) -> None:
    return None


if __name__ == "__main__":
    worker.run(queues=["default"], capacity=int(os.environ.get("BENCH_CAPACITY", "16")))
