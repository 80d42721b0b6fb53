"""The composition root at run time: settings -> store -> engine -> adapters -> scheduler, one event loop."""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from contextlib import suppress
from typing import TYPE_CHECKING

from bot import grading
from bot.boards import Boards
from bot.channel_setup import Workspaces
from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.dashboard_links import DashboardLinks
from bot.decks import MemberDecks
from bot.engine import QuizEngine
from bot.judge import Judge
from bot.metrics import Metrics
from bot.mocks import Mocks
from bot.models import Bank
from bot.ports import ChatAdapter
from bot.question_status import QuestionStatus
from bot.rounds import AsyncGrader, EngineEvents, Rounds
from bot.router import Router
from bot.scheduler import QuizScheduler
from bot.store import Store
from bot.study import Study
from bot.suggestions import with_suggested

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)
STOP_TIMEOUT = 8.0  # seconds; SIGTERM must end the process within 10
SETTLE_TIMEOUT = 3.0  # of those, for work in flight (scheduler jobs, events being handled) to finish


def build_adapters(settings: Settings, stop: asyncio.Event, store: Store | None = None) -> dict[str, ChatAdapter]:
    adapters: dict[str, ChatAdapter] = {}
    if settings.discord_token:
        from adapters.discord import DiscordAdapter

        adapters["discord"] = DiscordAdapter(settings)
    if settings.slack:
        from adapters.slack import SlackAdapter

        adapters["slack"] = SlackAdapter(settings, store=store)
    if not adapters:
        from adapters.console import ConsoleAdapter

        adapters["console"] = ConsoleAdapter(settings, on_end=stop.set)
    return adapters


def build_runtime(settings: Settings, bank: Bank, store: Store, *, adapters: dict[str, ChatAdapter] | None = None,
                  clock: Clock = system_clock, rng: random.Random | None = None,
                  grader: AsyncGrader | None = None) -> Runtime:
    """The composition root: settings -> store -> engine -> adapters -> hub -> scheduler.

    `studybot run` passes nothing else: the adapters come from the settings and the model judge from
    STUDYBOT_JUDGE_URL. Tests and benchmarks pass their own adapters, clock and random source.
    """
    stop = asyncio.Event()
    engine = build_engine(store, bank, settings, clock=clock, rng=rng, metrics=Metrics(),
                          grader=grader if grader is not None else Judge.from_settings(settings))
    return Runtime(settings, engine, adapters if adapters is not None else build_adapters(settings, stop, store),
                   stop)


async def preflight(settings: Settings) -> None:
    """Check the platform tokens before the database is touched: a refused token is a bad configuration."""
    if settings.discord_token:
        from adapters.discord import DiscordAdapter

        await DiscordAdapter.check(settings)
    if settings.slack:
        from adapters.slack import SlackAdapter

        await SlackAdapter(settings).check()


def build_engine(store: Store, bank: Bank, settings: Settings, *, clock: Clock = system_clock,
                 rng: random.Random | None = None, metrics: Metrics | None = None,
                 grader: AsyncGrader | None = None) -> QuizEngine:
    """The engine and its parts, each handed what it needs: the one place they are wired together."""
    bank = with_suggested(store, bank)  # a copy, with the approved suggestions: approving one adds to it
    events = EngineEvents()
    workspaces = Workspaces(store, settings, clock)
    study = Study(store, bank, clock, workspaces.settings_for)
    mocks = Mocks(store, bank, workspaces.settings_for, clock, rng)
    rounds = Rounds(store, bank, workspaces.settings_for, events, study, clock, rng, metrics, grader, mocks=mocks)
    boards = Boards(store, bank, workspaces.settings_for, clock, settings.db_path.resolve().parent / "charts")
    dashboards = DashboardLinks(store, settings, clock)
    decks = MemberDecks(store, bank, settings.db_path.resolve().parent)  # /quiz export: next to the database
    statuses = QuestionStatus(store, bank, clock)
    return QuizEngine(store, bank, settings, clock, events, workspaces, rounds, boards, study, dashboards=dashboards,
                      mocks=mocks, decks=decks, statuses=statuses)


class Runtime:
    """Everything one `studybot run` holds: engine, adapters, the hub between them, scheduler, HTTP."""

    def __init__(self, settings: Settings, engine: QuizEngine, adapters: dict[str, ChatAdapter],
                 stop_event: asyncio.Event) -> None:
        self.settings = settings
        self.stop_event = stop_event
        self.engine = engine
        self.metrics = engine.metrics
        self.adapters = adapters
        self.router = Router(engine, adapters, self.metrics)
        self.scheduler = QuizScheduler(engine, self.router.deliver, self.router.serves)
        engine.events.subscribe(self.scheduler.on_engine_event)
        self.http: web.AppRunner | None = None
        self.warming: asyncio.Task[None] | None = None  # the grader's model, loaded in a thread after start

    def health(self) -> dict[str, bool]:
        checks = {name: adapter.healthy() for name, adapter in self.adapters.items()}
        checks["scheduler"] = self.scheduler.healthy()
        return checks

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop_event.set)
        try:
            # Health routes go onto Slack's HTTP server before it starts serving (aiohttp freezes routes then).
            await self._start_http()
            for adapter in self.adapters.values():
                await adapter.start(self.router)
            await self.scheduler.start()
            if set(self.adapters) != {"console"}:
                # Off the loop, not awaited: a channel's first reveal must not wait for the model. The console has
                # one person at the keyboard, who would not notice the 0.2 s at their first written answer, so a
                # console session that grades nothing spares itself the load (0.25 s of CPU, 65 MB: 50 MB at start).
                self.warming = asyncio.create_task(asyncio.to_thread(grading.warm_up))
            log.info("studybot ready: %s", ", ".join(self.adapters))
            await self.stop_event.wait()
        finally:
            await self.shutdown()
        return 0

    @staticmethod
    async def _stop(adapter: ChatAdapter) -> None:
        with suppress(Exception):
            await asyncio.wait_for(adapter.stop(), STOP_TIMEOUT / 2)

    async def _start_http(self) -> None:
        slack = self.adapters.get("slack")
        web_app = getattr(slack, "web_app", None) if slack is not None else None
        if web_app is None and not self.settings.http_port:
            return  # no HTTP at all: aiohttp's web server and the dashboard are not even imported (~0.2 s a start)
        from bot.dashboard import mount_dashboard
        from bot.http import start_health_server

        if slack is not None and web_app is not None:
            slack.add_health_routes(self.health, self.metrics)  # type: ignore[attr-defined]
            mount_dashboard(web_app, self.engine)
        elif self.settings.http_port:
            self.http = await start_health_server(self.settings.http_port, self.health, self.metrics,
                                                  mount=lambda app: mount_dashboard(app, self.engine))

    async def shutdown(self) -> None:
        """Stop taking events, let in-flight work finish, close the database.

        The work in flight (a reveal, a private answer with the judge) finishes while the adapters can still deliver
        its messages, within SETTLE_TIMEOUT; what is left is cancelled and unwinds before the database closes."""
        self.router.accepting = False
        await asyncio.gather(self.scheduler.stop(SETTLE_TIMEOUT), self.router.in_flight.settle(SETTLE_TIMEOUT))
        # together, so that SETTLE_TIMEOUT and one adapter's STOP_TIMEOUT / 2 bound the whole stop
        await asyncio.gather(*(self._stop(adapter) for adapter in self.adapters.values()))
        if self.http is not None:
            await self.http.cleanup()
        self.engine.store.close()
