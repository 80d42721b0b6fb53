"""Work in flight at shutdown: waited for, then cancelled and unwound before the database closes."""

from __future__ import annotations

import asyncio

from bot.inflight import InFlight


async def test_settle_waits_for_work_that_ends_in_time():
    work = InFlight()
    finished = []

    async def job():
        with work.track():
            await asyncio.sleep(0.05)
            finished.append("job")

    task = asyncio.create_task(job())
    await asyncio.sleep(0)
    assert len(work) == 1
    assert await work.settle(timeout=5) == 0
    assert finished == ["job"] and len(work) == 0 and not task.cancelled()


async def test_settle_cancels_what_outlasts_the_timeout_and_lets_it_unwind():
    work = InFlight()
    unwound = []

    async def hang():
        with work.track():
            try:
                await asyncio.Event().wait()
            finally:
                unwound.append("finally ran")  # e.g. a reveal releasing its lease

    task = asyncio.create_task(hang())
    await asyncio.sleep(0)
    assert await work.settle(timeout=0.05) == 1
    assert unwound == ["finally ran"] and len(work) == 0
    await asyncio.sleep(0)
    assert task.cancelled()


async def test_a_long_lived_task_is_only_waited_for_while_inside_tracked_work():
    """The console reads lines in one task for its whole life; settle waits for the line being handled, not for
    the task to end."""
    work = InFlight()
    handled = []

    async def reader():
        for line in ("a", "b"):
            with work.track():
                await asyncio.sleep(0.01)
                handled.append(line)
        await asyncio.Event().wait()  # waits for input, outside any tracked work

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.1)
    assert await work.settle(timeout=5) == 0 and handled == ["a", "b"] and not task.done()
    task.cancel()


async def test_nested_tracking_counts_once_per_task():
    work = InFlight()
    with work.track():
        with work.track():
            assert len(work) == 1
        assert len(work) == 1
    assert len(work) == 0
