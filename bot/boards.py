"""Boards and stats: the leaderboard (on demand and weekly), a member's record with its chart, the team's weak
topics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from bot import outcomes as o
from bot import texts
from bot.clock import Clock, previous_week, week_of
from bot.events import Kind, Outgoing
from bot.models import Bank, ChannelSettings, Member, Place
from bot.stats import Record
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

    def leaderboard(self, place: Place, scope: str, user_id: str | None = None) -> o.LeaderboardShown:
        """This week's ranking (scope "week") or all time ("all"), with the asking member's own line."""
        settings = self.settings_for(place.platform, place.workspace)
        week = week_of(self.clock(), settings.timezone) if scope == "week" else None
        standings = tuple(self.store.standings(place.platform, place.workspace, week, BOARD_SIZE))
        own = self.store.standing_of(place.platform, place.workspace, week, user_id) if user_id else None
        return o.LeaderboardShown(standings, scope, own, week)

    def board(self, place: Place, scope: str, user_id: str | None = None) -> str:
        """The ranking as text (the command line, Slack's Home tab)."""
        return texts.render(self.leaderboard(place, scope, user_id))[1]

    def weekly_board(self, platform: str, workspace: str) -> list[Outgoing]:
        """The board of the week that just ended, posted once to the workspace's channel."""
        settings = self.settings_for(platform, workspace)
        if settings.place is None:
            return []
        week = previous_week(self.clock(), settings.timezone)
        key = f"weekly:{platform}:{workspace}:{week}"
        if not self.store.claim_once(key, "posted"):  # atomic: one post per channel and week, whatever the replicas
            return []
        standings = tuple(self.store.standings(platform, workspace, week, BOARD_SIZE))
        return [Outgoing(Kind.BOARD, settings.place, outcome=o.LeaderboardShown(standings, "last week", None, week))]

    def member_stats(self, member: Member, place: Place, chart: bool = True) -> list[Outgoing]:
        from bot.stats import member_record

        record = member_record(self.store, self.bank, member, place)
        totals = self.store.member_totals(place.platform, place.workspace, member.user_id) or {}
        shown = o.MemberStatsShown(member.name, record, totals, self.bank.levels)
        title = texts.render(shown)[0]
        draw = self._chart(record, title, member, place) if chart and record.total.answered else None
        return [Outgoing(Kind.STATS, place, outcome=shown, to=member, chart=draw)]

    def _chart(self, record: Record, title: str, member: Member, place: Place) -> Callable[[], Path | None]:
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

    def team_stats(self, place: Place) -> Record:
        from bot.stats import team_record

        return team_record(self.store, self.bank, place)
