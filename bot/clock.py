"""Time helpers: one text form for stored instants, and local dates and weeks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC as UTC  # the bot's modules take UTC from here
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Fixed-width UTC text, so stored instants sort and compare as strings."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)  # reads the trailing Z as UTC (Python 3.11+)


def local_date(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def week_start(day: date) -> date:
    """The Monday of the week holding `day` (weeks start on Monday)."""
    return day - timedelta(days=day.weekday())


def week_of(moment: datetime, tz: str) -> str:
    return week_start(local_date(moment, tz)).isoformat()


def previous_week(moment: datetime, tz: str) -> str:
    return (week_start(local_date(moment, tz)) - timedelta(days=7)).isoformat()


def human_duration(seconds: int) -> str:
    """8h, 10m, 1h 30m, 45s."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or "0s"
