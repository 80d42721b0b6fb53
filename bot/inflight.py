"""Work in flight: a scheduler job or an event being handled, so that a shutdown lets it finish (a reveal waiting
for the model judge, a private answer being graded) before the database closes under it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

UNWIND_SECONDS = 1.0  # how long a cancelled piece of work gets to run its finally blocks


class InFlight:
    def __init__(self) -> None:
        self._inside: dict[asyncio.Task[Any], int] = {}  # task -> how deep it is in tracked work (jobs nest)

    def __len__(self) -> int:
        return len(self._inside)

    @contextmanager
    def track(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is None:  # not in a task: nothing a shutdown could wait for or cancel
            yield
            return
        self._inside[task] = self._inside.get(task, 0) + 1
        try:
            yield
        finally:
            depth = self._inside.pop(task) - 1
            if depth:
                self._inside[task] = depth

    async def settle(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for the work in flight; then cancel what is left and give it a moment to
        unwind. Returns how many pieces of work were cancelled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._inside and loop.time() < deadline:
            await asyncio.sleep(0.02)  # a poll: tracked work may sit inside long-lived tasks (the console's reader)
        left = [task for task in self._inside if task is not asyncio.current_task()]
        for task in left:
            task.cancel()
        deadline = loop.time() + UNWIND_SECONDS
        while any(task in self._inside for task in left) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        return len(left)
