"""Keep under Discord's global limit of 50 REST requests per second.

discord.py learns per-route limits from response headers, but the global
limit only shows up as a 429 after it is exceeded; when a thousand daily
posts go out at once, those 429s pile up and requests fail after their
retries. So every request waits its turn here first, in arrival order, spaced
evenly. Interaction responses and webhooks (follow-ups) are not bound to the
global limit, so a member's /quiz is never queued behind a fan-out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

GLOBAL_PER_SECOND = 49  # one under Discord's 50, so no one-second window ever holds more than 50
EXEMPT = ("/interactions/", "/webhooks/")


class Pacer:
    """Hands out send slots `interval` apart, in arrival order.

    The promise is about slots, not wall-clock gaps: a request never starts
    before its slot, and slots are evenly spaced. The clock and the sleep are
    injectable so tests check that promise without depending on the machine's load.
    """

    def __init__(self, per_second: float = GLOBAL_PER_SECOND, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.interval = 1.0 / per_second
        self.next_slot = 0.0
        self.clock = clock
        self.sleep = sleep
        self.lock = asyncio.Lock()  # waiters are served first come, first served

    async def wait(self) -> float:
        """Wait for the next slot; returns the slot's time."""
        async with self.lock:
            now = self.clock()
            slot = max(now, self.next_slot)
            if slot > now:
                await self.sleep(slot - now)
            self.next_slot = slot + self.interval
            return slot


def pace_requests(http: Any, pacer: Pacer) -> None:
    """Route discord.py's HTTPClient.request through the pacer (the one door every REST call goes through)."""
    request: Callable[..., Awaitable[Any]] = http.request

    async def paced(route: Any, *args: Any, **kwargs: Any) -> Any:
        if not str(getattr(route, "path", "")).startswith(EXEMPT):
            await pacer.wait()
        return await request(route, *args, **kwargs)

    http.request = paced
