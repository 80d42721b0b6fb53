"""APScheduler jobs built from the database: daily rounds, reveals and weekly boards.

The database is the source of truth: at start the jobs are rebuilt from stored
settings and open rounds, overdue reveals run at once, and a daily round missed
while the bot was down is posted if its time passed less than CATCH_UP ago.
A unique index (one daily round per channel and local date) makes a job that
fires twice harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import UTC
from bot.engine import QuizEngine
from bot.rounds import EngineEvent, RoundOpened, SettingsChanged
from bot.events import Outgoing
from bot.models import ChannelSettings

log = logging.getLogger(__name__)

CATCH_UP = timedelta(hours=2)
SAFETY_NET_SECONDS = 60  # how often overdue reveals and unposted rounds are retried
REMINDER_MINUTES = 15  # how often opted-in members are checked for due reviews (each is told once a day)

Deliver = Callable[[list[Outgoing]], Awaitable[None]]


def daily_trigger(s: ChannelSettings) -> CronTrigger | None:
    if not s.daily_at or not s.channel:
        return None
    hour, minute = s.daily_at.split(":")
    return CronTrigger(day_of_week=s.days, hour=int(hour), minute=int(minute), timezone=ZoneInfo(s.timezone))


def weekly_trigger(s: ChannelSettings) -> CronTrigger | None:
    if not s.weekly_at or not s.channel:
        return None
    day, clock = s.weekly_at.split()
    hour, minute = clock.split(":")
    return CronTrigger(day_of_week=day, hour=int(hour), minute=int(minute), timezone=ZoneInfo(s.timezone))


def missed_daily(s: ChannelSettings, now: datetime) -> datetime | None:
    """The daily post time that passed less than CATCH_UP before `now`, if any."""
    trigger = daily_trigger(s)
    if trigger is None:
        return None
    fire = trigger.get_next_fire_time(None, now - CATCH_UP)
    return fire if fire is not None and fire <= now else None


class QuizScheduler:
    def __init__(self, engine: QuizEngine, deliver: Deliver) -> None:
        self.engine = engine
        self.deliver = deliver
        self.scheduler = AsyncIOScheduler(timezone=UTC)

    async def start(self) -> None:
        self.scheduler.start()
        for settings in self.engine.store.workspaces():
            self.plan(settings)
        await self.catch_up()
        self.scheduler.add_job(self.safety_net, IntervalTrigger(seconds=SAFETY_NET_SECONDS), id="safety-net",
                               replace_existing=True, coalesce=True, max_instances=1)
        self.scheduler.add_job(self.reminders, IntervalTrigger(minutes=REMINDER_MINUTES), id="reminders",
                               replace_existing=True, coalesce=True, max_instances=1)

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def healthy(self) -> bool:
        return self.scheduler.running

    async def catch_up(self) -> None:
        """What was due while the bot was down: reveals, posts that never left, the day's round."""
        await self.deliver(await self.engine.rounds.reveal_due_async())
        for rnd in self.engine.rounds.open_rounds():
            if rnd.deadline:
                self.schedule_reveal(rnd.id, rnd.deadline)
        now = self.engine.clock()
        for settings in self.engine.store.workspaces():
            fire = missed_daily(settings, now)
            if fire is not None:
                day = fire.astimezone(ZoneInfo(settings.timezone)).date().isoformat()
                await self.deliver(self.engine.rounds.daily_round(settings.platform, settings.workspace, day))
        await self.deliver(self.engine.rounds.unposted_rounds())

    def plan(self, s: ChannelSettings) -> None:
        """(Re)build a workspace's daily and weekly jobs from its settings."""
        for kind, trigger, job in (("daily", daily_trigger(s), self.daily), ("weekly", weekly_trigger(s), self.weekly)):
            job_id = f"{kind}:{s.platform}:{s.workspace}"
            if trigger is None:
                if self.scheduler.get_job(job_id):
                    self.scheduler.remove_job(job_id)
                continue
            self.scheduler.add_job(job, trigger, args=[s.platform, s.workspace], id=job_id, replace_existing=True,
                                   coalesce=True, misfire_grace_time=int(CATCH_UP.total_seconds()))

    def schedule_reveal(self, round_id: int, deadline: datetime) -> None:
        self.scheduler.add_job(self.reveal, DateTrigger(deadline), args=[round_id], id=f"reveal:{round_id}",
                               replace_existing=True, misfire_grace_time=None)

    async def daily(self, platform: str, workspace: str) -> None:
        await self.deliver(self.engine.rounds.daily_round(platform, workspace))

    async def weekly(self, platform: str, workspace: str) -> None:
        await self.deliver(self.engine.boards.weekly_board(platform, workspace))

    async def reveal(self, round_id: int) -> None:
        await self.deliver(await self.engine.rounds.reveal_async(round_id))

    async def safety_net(self) -> None:
        await self.deliver(await self.engine.rounds.reveal_due_async())
        await self.deliver(self.engine.rounds.unposted_rounds())

    async def reminders(self) -> None:
        if self.engine.study is not None:
            await self.deliver(self.engine.study.due_reminders())

    def on_engine_event(self, event: EngineEvent) -> None:
        if isinstance(event, RoundOpened):
            self.schedule_reveal(event.round_id, event.deadline)
        elif isinstance(event, SettingsChanged):
            self.plan(event.settings)
