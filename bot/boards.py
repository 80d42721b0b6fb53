"""Boards and stats: the leaderboard (on demand and weekly), a member's record with its chart, the team's weak topics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from bot import texts
from bot.clock import Clock, previous_week, week_of
from bot.events import Kind, Outgoing
from bot.models import Bank, ChannelSettings, Member, Place
from bot.store import Store

log = logging.getLogger(__name__)

BOARD_SIZE = 10


class Boards:
    def __init__(self, store: Store, bank: Bank, settings_for: Callable[[str, str], ChannelSettings], clock: Clock,
                 charts_dir: Path) -> None:
        self.store = store
        self.bank = bank
        self.settings_for = settings_for
        self.clock = clock
        self.charts_dir = charts_dir

    def board(self, place: Place, scope: str, user_id: str | None = None) -> str:
        settings = self.settings_for(place.platform, place.workspace)
        week = week_of(self.clock(), settings.timezone) if scope == "week" else None
        return self._board_text(place, week, user_id, "this week" if week else "yet")

    def _board_text(self, place: Place, week: str | None, user_id: str | None, scope_words: str) -> str:
        standings = self.store.standings(place.platform, place.workspace, week, BOARD_SIZE)
        own = self.store.standing_of(place.platform, place.workspace, week, user_id) if user_id else None
        return texts.board_text(standings, scope_words, own)

    def weekly_board(self, platform: str, workspace: str) -> list[Outgoing]:
        """The board of the week that just ended, posted once to the workspace's channel."""
        settings = self.settings_for(platform, workspace)
        if settings.place is None:
            return []
        week = previous_week(self.clock(), settings.timezone)
        key = f"weekly:{platform}:{workspace}:{week}"
        if self.store.meta(key):
            return []
        self.store.set_meta(key, "posted")
        text = self._board_text(settings.place, week, None, "last week")
        return [Outgoing(Kind.BOARD, settings.place, text, title=f"Leaderboard · week of {week}")]

    def member_stats(self, member: Member, place: Place, chart: bool = True) -> list[Outgoing]:
        from bot.stats import member_record, member_stats_text

        record = member_record(self.store, self.bank, member, place)
        text = member_stats_text(self.store, self.bank, member, place, record)
        title = f"Stats · {texts.name_of(member.name)}"
        draw = self._chart(record, title, member, place) if chart and record.total.answered else None
        return [Outgoing(Kind.STATS, place, text, title=title, to=member, chart=draw)]

    def _chart(self, record, title: str, member: Member, place: Place) -> Callable[[], Path | None]:
        from bot.charts import render_progress

        owner = f"{place.platform}-{place.workspace}-{member.user_id}"
        directory, today = self.charts_dir, self.clock().date()

        def draw() -> Path | None:
            try:
                return render_progress(record, title, directory, owner, today)
            except Exception:  # a chart is a bonus: the text stats still go out
                log.exception("could not draw the stats chart")
                return None

        return draw

    def team_stats(self, place: Place) -> str:
        from bot.stats import team_stats_text

        return team_stats_text(self.store, self.bank, place)
