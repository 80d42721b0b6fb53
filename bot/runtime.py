"""The composition root at run time: settings -> store -> engine -> adapters -> scheduler, one event loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress

from bot.ports import ChatAdapter
from bot.config import Settings
from bot.engine import QuizEngine
from bot.judge import Judge
from bot.metrics import Metrics
from bot.models import Bank
from bot.router import Router
from bot.scheduler import QuizScheduler
from bot.store import Store
from bot.study import Study

log = logging.getLogger(__name__)
STOP_TIMEOUT = 8.0  # seconds; SIGTERM must end the process within 10


def build_adapters(settings: Settings, stop: asyncio.Event) -> dict[str, ChatAdapter]:
    adapters: dict[str, ChatAdapter] = {}
    if settings.discord_token:
        from adapters.discord import DiscordAdapter

        adapters["discord"] = DiscordAdapter(settings)
    if settings.slack_bot_token:
        from adapters.slack import SlackAdapter

        adapters["slack"] = SlackAdapter(settings)
    if not adapters:
        from adapters.console import ConsoleAdapter

        adapters["console"] = ConsoleAdapter(settings, on_end=stop.set)
    return adapters


async def preflight(settings: Settings) -> None:
    """Check the platform tokens before the database is touched: a refused token is a bad configuration."""
    if settings.discord_token:
        from adapters.discord import DiscordAdapter

        await DiscordAdapter.check(settings)
    if settings.slack_bot_token:
        from adapters.slack import SlackAdapter

        await SlackAdapter(settings).check()


class Runtime:
    def __init__(self, settings: Settings, bank: Bank, store: Store) -> None:
        self.settings = settings
        self.stop_event = asyncio.Event()
        self.metrics = Metrics()
        self.engine = QuizEngine(store, bank, settings, metrics=self.metrics, grader=Judge.from_settings(settings))
        Study(self.engine)
        self.adapters = build_adapters(settings, self.stop_event)
        self.router = Router(self.engine, self.adapters, self.metrics)
        self.scheduler = QuizScheduler(self.engine, self.router.deliver)
        self.http = None

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
            log.info("studybot ready: %s", ", ".join(self.adapters))
            await self.stop_event.wait()
        finally:
            await self.shutdown()
        return 0

    async def _start_http(self) -> None:
        from bot.http import start_health_server

        slack = self.adapters.get("slack")
        if slack is not None and getattr(slack, "web_app", None) is not None:
            slack.add_health_routes(self.health, self.metrics)  # type: ignore[attr-defined]
        elif self.settings.http_port:
            self.http = await start_health_server(self.settings.http_port, self.health, self.metrics)

    async def shutdown(self) -> None:
        """Stop taking events, let in-flight work finish, close the database."""
        self.router.accepting = False
        self.scheduler.shutdown()
        for adapter in self.adapters.values():
            with suppress(Exception):
                await asyncio.wait_for(adapter.stop(), STOP_TIMEOUT / 2)
        if self.http is not None:
            await self.http.cleanup()
        self.engine.store.close()
