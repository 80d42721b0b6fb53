"""APScheduler jobs built from the database: daily rounds, reveals and weekly boards.

The database is the source of truth: at start the jobs are rebuilt from stored
settings and open rounds, overdue reveals run at once, and a daily round missed
while the bot was down is posted if its time passed less than CATCH_UP ago.
A unique index (one daily round per channel and local date) makes a job that
fires twice harmless.

Several replicas on one database each run this scheduler; the work is claimed in
the database when it is due, never left to one leader's memory:
- a daily round: the unique index above; the replica whose INSERT lands posts it;
- a reveal: a lease on `reveal:<round>` (so one replica grades), then close_round's
  `UPDATE ... WHERE revealed_at IS NULL` (so one replica scores and delivers);
- a weekly board: a key inserted once (Boards.weekly_board);
- a round post: a lease on `post:<round>` (the router), so a retry never doubles a post in flight.
Every replica polls the database every POLL_SECONDS: it learns the rounds others opened (and reveals
them at their deadline if their replica is gone) and the settings others changed (/quiz setup).
"""

from __future__ import annotations

import asyncio
import functools
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
from bot.events import Outgoing
from bot.inflight import InFlight
from bot.models import ChannelSettings
from bot.rounds import EngineEvent, RoundOpened, SettingsChanged
from bot.router import holder_name
from bot.seasons import season_trigger

log = logging.getLogger(__name__)

CATCH_UP = timedelta(hours=2)
SAFETY_NET_SECONDS = 60  # how often overdue reveals and unposted rounds are retried
POLL_SECONDS = 5  # how often each replica reads what other replicas opened or changed, and reveals what is due
REVEAL_LEASE_SECONDS = 300  # a replica that claimed a reveal and died: another takes it over after this
REMINDER_MINUTES = 15  # how often opted-in members are checked for due reviews (each is told once a day)

Deliver = Callable[[list[Outgoing]], Awaitable[None]]
Serves = Callable[[str, str], bool]  # (platform, workspace) -> does this process post that workspace's rounds


def job(method: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A scheduler job: tracked while it runs, so that a shutdown lets it finish before the database closes."""
    @functools.wraps(method)
    async def run(self: QuizScheduler, *args: object) -> None:
        with self.in_flight.track():
            try:
                await method(self, *args)
            except asyncio.CancelledError:
                if not self.stopping:
                    raise
                # cancelled by stop(): expected, and not a job failure for APScheduler to log with a traceback
    return run


def daily_trigger(s: ChannelSettings) -> CronTrigger | None:
    if not s.daily_at or not s.channel:
        return None
    hour, minute, *second = s.daily_at.split(":")
    return CronTrigger(day_of_week=s.days, hour=int(hour), minute=int(minute), second=int(second[0]) if second else 0,
                       timezone=ZoneInfo(s.timezone))


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
    def __init__(self, engine: QuizEngine, deliver: Deliver, serves: Serves | None = None) -> None:
        self.engine = engine
        self.deliver = deliver
        self.serves = serves or (lambda platform, workspace: True)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.holder = holder_name()
        self.in_flight = InFlight()
        self.stopping = False
        self._planned: dict[tuple[str, str], ChannelSettings] = {}  # the settings each workspace's jobs were built from
        self._planned_at: dict[tuple[str, str], datetime] = {}  # since when this process runs those jobs
        self._daily_done: dict[tuple[str, str], str] = {}  # the last local date whose daily round exists, seen here

    async def start(self) -> None:
        self.scheduler.start()
        self.replan()
        await self.catch_up()
        self.scheduler.add_job(self.safety_net, IntervalTrigger(seconds=SAFETY_NET_SECONDS), id="safety-net",
                               replace_existing=True, coalesce=True, max_instances=1)
        self.scheduler.add_job(self.poll, IntervalTrigger(seconds=POLL_SECONDS), id="poll",
                               replace_existing=True, coalesce=True, max_instances=1)
        self.scheduler.add_job(self.reminders, IntervalTrigger(minutes=REMINDER_MINUTES), id="reminders",
                               replace_existing=True, coalesce=True, max_instances=1)

    def shutdown(self) -> None:
        """Stop at once: a job still running is cancelled (APScheduler's asyncio executor cannot wait)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def stop(self, timeout: float) -> None:
        """Start no new job, give the running ones `timeout` seconds (a reveal may be waiting for the judge), then
        cancel the rest and let them unwind (a reveal's lease is released while the database is still open)."""
        if not self.scheduler.running:
            return
        self.stopping = True
        self.scheduler.pause()
        cancelled = await self.in_flight.settle(timeout)
        if cancelled:
            log.warning("%d scheduler job(s) still running at shutdown were cancelled; they run again at the next "
                        "start", cancelled)
        self.shutdown()

    def healthy(self) -> bool:
        return bool(self.scheduler.running)

    async def catch_up(self) -> None:
        """What was due while the bot was down: reveals, posts that never left, the day's round."""
        await self.reveal_due()
        self.follow_open_rounds()
        now = self.engine.clock()
        for settings in self.engine.store.workspaces():
            if not self.serves(settings.platform, settings.workspace):
                continue
            # a season that ended while the bot was down: its winners now (once; only if anyone scored)
            await self.deliver(self.engine.team.season_end(settings.platform, settings.workspace, only_if_scored=True))
            fire = missed_daily(settings, now)
            if fire is not None:
                day = fire.astimezone(ZoneInfo(settings.timezone)).date().isoformat()
                await self.deliver(self.engine.rounds.daily_round(settings.platform, settings.workspace, day))
        await self.deliver(self.engine.rounds.unposted_rounds())

    def plan(self, s: ChannelSettings) -> None:
        """(Re)build a workspace's daily and weekly jobs from its settings."""
        self.plan_team(s)
        serve = self.serves(s.platform, s.workspace)
        for kind, trigger, job in (("daily", daily_trigger(s), self.daily), ("weekly", weekly_trigger(s), self.weekly)):
            job_id = f"{kind}:{s.platform}:{s.workspace}"
            if trigger is None or not serve:
                if self.scheduler.get_job(job_id):
                    self.scheduler.remove_job(job_id)
                continue
            self.scheduler.add_job(job, trigger, args=[s.platform, s.workspace], id=job_id, replace_existing=True,
                                   coalesce=True, misfire_grace_time=int(CATCH_UP.total_seconds()))
        if self._planned.get((s.platform, s.workspace)) != s:
            self._planned_at[(s.platform, s.workspace)] = self.engine.clock()
        self._planned[(s.platform, s.workspace)] = s

    def unplan(self, platform: str, workspace: str) -> None:
        """A workspace gone from the active ones (its app uninstalled): its daily, weekly and season jobs go."""
        for kind in ("daily", "weekly", "season"):
            if self.scheduler.get_job(f"{kind}:{platform}:{workspace}"):
                self.scheduler.remove_job(f"{kind}:{platform}:{workspace}")
        self._planned.pop((platform, workspace), None)
        self._planned_at.pop((platform, workspace), None)

    def replan(self) -> None:
        """Jobs from the settings in the database: new, changed (by another replica) and gone workspaces."""
        current = {(s.platform, s.workspace): s for s in self.engine.store.workspaces()}
        for key, settings in current.items():
            if self._planned.get(key) != settings:
                self.plan(settings)
        for platform, workspace in set(self._planned) - set(current):
            self.unplan(platform, workspace)

    def plan_team(self, s: ChannelSettings) -> None:
        """The job at the season's end (season=...), and the reminders of the workspace's open rounds (remind=...)."""
        job_id = f"season:{s.platform}:{s.workspace}"
        trigger = season_trigger(s)
        if trigger is None or not self.serves(s.platform, s.workspace):
            if self.scheduler.get_job(job_id):
                self.scheduler.remove_job(job_id)
        else:
            self.scheduler.add_job(self.season_end, trigger, args=[s.platform, s.workspace], id=job_id,
                                   replace_existing=True, coalesce=True,
                                   misfire_grace_time=int(CATCH_UP.total_seconds()))
        for rnd in self.engine.rounds.open_rounds():
            if (rnd.place.platform, rnd.place.workspace) == (s.platform, s.workspace):
                self.schedule_remind(rnd.id)

    def schedule_remind(self, round_id: int) -> None:
        """A round's reminder before its reveal ("1 hour left, 5 answers so far"), or none (remind=off)."""
        job_id = f"remind:{round_id}"
        rnd = self.engine.store.round(round_id)
        at = self.engine.team.remind_at(rnd) if rnd is not None else None
        now = self.engine.clock()
        if rnd is None or at is None or rnd.deadline is None or rnd.deadline <= now:
            if self.scheduler.get_job(job_id):
                self.scheduler.remove_job(job_id)
            return
        self.scheduler.add_job(self.remind, DateTrigger(max(at, now)), args=[round_id], id=job_id,
                               replace_existing=True, misfire_grace_time=None)

    @job
    async def remind(self, round_id: int) -> None:
        await self.deliver(self.engine.team.round_reminder(round_id))

    @job
    async def season_end(self, platform: str, workspace: str) -> None:
        await self.deliver(self.engine.team.season_end(platform, workspace))

    def schedule_reveal(self, round_id: int, deadline: datetime) -> None:
        self.scheduler.add_job(self.reveal, DateTrigger(deadline), args=[round_id], id=f"reveal:{round_id}",
                               replace_existing=True, misfire_grace_time=None)

    def follow_open_rounds(self) -> None:
        """A reveal job for every open round, those other replicas opened too (they may be gone by its deadline)."""
        now = self.engine.clock()
        for rnd in self.engine.rounds.open_rounds():
            if rnd.deadline and rnd.deadline > now and self.scheduler.get_job(f"reveal:{rnd.id}") is None:
                self.schedule_reveal(rnd.id, rnd.deadline)
                self.schedule_remind(rnd.id)

    @job
    async def daily(self, platform: str, workspace: str) -> None:
        current = self.engine.store.workspace(platform, workspace)
        planned = self._planned.get((platform, workspace))
        if planned is not None and current != planned:  # changed by another replica since this job was built
            if current is None:
                self.unplan(platform, workspace)
            else:
                self.plan(current)
            if current is None or daily_trigger(current) is None or _trigger_key(current) != _trigger_key(planned):
                return
        opened = self.engine.rounds.daily_round(platform, workspace)
        if opened:  # this replica's INSERT landed: it posts the round
            log.info("daily round %s opened in %s/%s", opened[0].round_id, platform, workspace)
        await self.deliver(opened)

    @job
    async def weekly(self, platform: str, workspace: str) -> None:
        await self.deliver(self.engine.boards.weekly_board(platform, workspace))

    @job
    async def reveal(self, round_id: int) -> None:
        """Reveal a round once, whichever replicas try: a lease first, so only one grades its written answers."""
        now = self.engine.clock()
        key = f"reveal:{round_id}"
        if not self.engine.store.claim(key, self.holder, now, REVEAL_LEASE_SECONDS):
            return  # another replica (or this one, in another job) is revealing it
        try:
            messages = await self.engine.rounds.reveal_async(round_id)
        finally:
            self.engine.store.release(key, self.holder)  # done, or failed and open to a retry by anyone
        await self.deliver(messages)

    async def reveal_due(self) -> None:
        now = self.engine.clock()
        for rnd in self.engine.rounds.open_rounds():
            if rnd.deadline and rnd.deadline <= now:
                await self.reveal(rnd.id)

    @job
    async def safety_net(self) -> None:
        await self.reveal_due()
        await self.deliver(self.engine.rounds.unposted_rounds())
        await self.missed_dailies()
        self.engine.store.sweep_claims(self.engine.clock() - timedelta(days=1))

    async def missed_dailies(self) -> None:
        """A daily round whose time passed while this process ran its job, yet that was not opened (the database
        was unreachable then): opened now, up to CATCH_UP late, once (the unique daily round)."""
        now = self.engine.clock()
        for key, settings in list(self._planned.items()):
            fire = missed_daily(settings, now)
            if fire is None or fire < self._planned_at.get(key, now) or not self.serves(*key):
                continue  # no job, a time that passed before this process planned it (catch_up's), or not ours
            day = fire.astimezone(ZoneInfo(settings.timezone)).date().isoformat()
            if self._daily_done.get(key) == day:
                continue
            await self.deliver(self.engine.rounds.daily_round(*key, day))
            self._daily_done[key] = day  # opened now, or found there: not asked again today

    @job
    async def poll(self) -> None:
        """What other replicas did: rounds they opened (revealed here if they are gone), settings they changed."""
        self.replan()
        self.follow_open_rounds()
        await self.reveal_due()

    @job
    async def reminders(self) -> None:
        if self.engine.study is not None:
            await self.deliver(self.engine.study.due_reminders())

    def on_engine_event(self, event: EngineEvent) -> None:
        if isinstance(event, RoundOpened):
            self.schedule_reveal(event.round_id, event.deadline)
            self.schedule_remind(event.round_id)
        elif isinstance(event, SettingsChanged):
            self.plan(event.settings)


def _trigger_key(s: ChannelSettings) -> tuple[str | None, str | None, str, str]:
    return (s.channel, s.daily_at, s.days, s.timezone)
