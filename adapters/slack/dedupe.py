"""Events Slack delivered before: Slack retries an event it thinks was slow (after 0 s, 1 min, 5 min)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

KEEP_SECONDS = 3600.0  # well past Slack's last retry
KEEP_AT_MOST = 20_000


class RecentEvents:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        """True the first time an event id comes; False for every repeat within KEEP_SECONDS."""
        now = self.clock()
        self._forget_old(now)
        if event_id in self._seen:
            return False
        self._seen[event_id] = now
        return True

    def _forget_old(self, now: float) -> None:
        while self._seen:
            oldest, seen_at = next(iter(self._seen.items()))
            if now - seen_at < KEEP_SECONDS and len(self._seen) < KEEP_AT_MOST:
                break
            self._seen.popitem(last=False)
