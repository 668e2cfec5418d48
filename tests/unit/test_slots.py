"""Slots: the capacity every pull of a runner or function worker shares."""

import asyncio

from execflow_bus import Slots


async def test_a_taker_waiting_gets_the_next_free_slot_before_one_that_asks_again() -> None:
    slots = Slots(2)
    assert [await slots.take(1), await slots.take(1)] == [1, 1]
    first = asyncio.create_task(slots.take(1))
    await asyncio.sleep(0)
    slots.give_back(1)  # a quick pull gives its slot back and asks again at once
    again = asyncio.create_task(slots.take(1))
    await asyncio.sleep(0)
    assert first.done() and first.result() == 1
    assert not again.done()
    slots.give_back(1)
    assert await again == 1
    assert slots.busy == 2


async def test_a_taker_takes_up_to_its_share_of_what_is_free() -> None:
    slots = Slots(5)
    assert await slots.take(3) == 3
    assert await slots.take(3) == 2
    waiting = asyncio.create_task(slots.take(3))
    await asyncio.sleep(0)
    slots.give_back(2)  # both go to the one waiting
    assert await waiting == 2
    assert slots.busy == 5


async def test_more_brought_than_reserved_counts_and_closing_frees_the_waiting() -> None:
    slots = Slots(2)
    assert await slots.take(1) == 1
    slots.give_back(1 - 3)  # a pull reserved 1 and brought 3: all are running
    assert slots.busy == 3
    waiting = asyncio.create_task(slots.take(1))
    await asyncio.sleep(0)
    slots.close()
    assert await waiting == 0
    assert await slots.take(1) == 0


async def test_a_waiting_taker_cancelled_leaves_no_slot_taken() -> None:
    slots = Slots(1)
    assert await slots.take(1) == 1
    waiting = asyncio.create_task(slots.take(1))
    await asyncio.sleep(0)
    slots.give_back(1)  # handed to the waiting taker…
    waiting.cancel()  # …which is cancelled before it runs
    await asyncio.gather(waiting, return_exceptions=True)
    assert slots.busy == 0
    assert await slots.take(1) == 1
