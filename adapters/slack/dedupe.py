"""Events Slack delivered before: Slack retries an event it thinks was slow (after 0 s, 1 min, 5 min).

Behind a load balancer the retry may reach another replica, so the event ids are kept in the database
(the `slack_events` table, its primary key deciding who saw an id first), with this process's own recent
ids in memory in front of it, so a retry to the same replica costs no query.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

log = logging.getLogger(__name__)

KEEP_SECONDS = 3600.0  # well past Slack's last retry
KEEP_AT_MOST = 20_000
SWEEP_EVERY = 1000  # events: how often the database's old ids are deleted


class EventLedger(Protocol):
    """The database side (bot.store.Store has these)."""

    def first_slack_event(self, event_id: str, now: datetime) -> bool: ...

    def sweep_slack_events(self, before: datetime) -> None: ...


class RecentEvents:
    def __init__(self, clock: Callable[[], float] = time.monotonic, ledger: EventLedger | None = None,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock
        self.ledger = ledger
        self.wall_clock = wall_clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._until_sweep = 0

    def first_time(self, event_id: str) -> bool:
        """True the first time an event id comes, to any replica; False for every repeat within KEEP_SECONDS."""
        now = self.clock()
        self._forget_old(now)
        if event_id in self._seen:
            return False
        self._seen[event_id] = now
        if self.ledger is None:
            return True
        return self._first_in_database(event_id)

    def _first_in_database(self, event_id: str) -> bool:
        assert self.ledger is not None
        now = self.wall_clock()
        try:
            first = self.ledger.first_slack_event(event_id, now)
            self._until_sweep -= 1
            if self._until_sweep <= 0:
                self._until_sweep = SWEEP_EVERY
                self.ledger.sweep_slack_events(now - timedelta(seconds=KEEP_SECONDS))
        except Exception:  # the database is busy or away: a possible repeat beats a lost answer (answers lock in once)
            log.warning("could not check Slack event %s in the database; handling it", event_id, exc_info=True)
            return True
        return first

    def _forget_old(self, now: float) -> None:
        while self._seen:
            _oldest, seen_at = next(iter(self._seen.items()))
            if now - seen_at < KEEP_SECONDS and len(self._seen) < KEEP_AT_MOST:
                break
            self._seen.popitem(last=False)
