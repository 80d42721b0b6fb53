"""Seasons (/quiz setup season=monthly|quarterly): a leaderboard that starts again each month or quarter.

A season is named by its key: "2026-11" (monthly) or "2026-Q4" (quarterly), the calendar month or quarter in
the channel's time zone. Points count in the season in which the round is revealed, so that the season's end
(midnight on the 1st, local time, whatever the daylight saving time) closes it with every point in. All-time
standings are the members table's, untouched by seasons.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.clock import local_date
from bot.models import ChannelSettings

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
QUARTER_STARTS = "1,4,7,10"


def season_key(moment: datetime, tz: str, mode: str) -> str:
    """The season holding `moment` in time zone `tz`: "YYYY-MM" (monthly) or "YYYY-Qn" (quarterly)."""
    day = local_date(moment, tz)
    if mode == "quarterly":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def previous_key(key: str) -> str:
    year, part = key.split("-")
    if part.startswith("Q"):
        quarter = int(part[1:])
        return f"{int(year) - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"
    month = int(part)
    return f"{int(year) - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def label(key: str) -> str:
    """ "2026-11" -> "November 2026"; "2026-Q4" -> "Q4 2026 (October to December)". """
    year, part = key.split("-")
    if part.startswith("Q"):
        first = (int(part[1:]) - 1) * 3
        return f"{part} {year} ({MONTHS[first]} to {MONTHS[first + 2]})"
    return f"{MONTHS[int(part) - 1]} {year}"


def season_trigger(s: ChannelSettings) -> CronTrigger | None:
    """Fires as a season ends: midnight on the 1st (of each month, or of January, April, July and October),
    in the channel's time zone, so daylight saving time moves it in UTC as it should."""
    if not s.season or not s.channel:
        return None
    month = QUARTER_STARTS if s.season == "quarterly" else "*"
    return CronTrigger(month=month, day=1, hour=0, minute=0, second=0, timezone=ZoneInfo(s.timezone))
