"""Daily fan-out to 1,000 channels (1,000 servers) through the real Discord adapter, against the Discord
stand-in of tests/discord enforcing Discord's global limit of 50 requests per second.

Target: every channel has its question within 10% of the 20 s that limit allows for 1,000 posts (22 s).
Each round's reactions and thread follow its post (the adapter posts first, extras after), so the time
until every round is complete is reported as well.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import time
from collections import deque

from aiohttp import web
from common import REPO, machine, scratch, verdict

sys.path.insert(0, str(REPO / "tests" / "discord"))
from discord_standin import API_PREFIX, DiscordStandIn, as_json

from adapters.discord import DiscordAdapter
from bot.config import Settings
from bot.models import ChannelSettings
from bot.questions import load_bank
from bot.runtime import build_runtime
from bot.store import Store

CHANNELS = 1_000
LIMIT_PER_SECOND = 50


class RateLimitedStandIn(DiscordStandIn):
    """Answers 429 (global) beyond 50 REST requests in any one-second window, as Discord does."""

    def __init__(self) -> None:
        super().__init__()
        self.window: deque[float] = deque()
        self.limited = 0
        self.posted_at: list[float] = []

    async def _rest(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        while self.window and now - self.window[0] >= 1.0:
            self.window.popleft()
        if len(self.window) >= LIMIT_PER_SECOND:
            self.limited += 1
            retry = round(1.0 - (now - self.window[0]), 3)
            response = as_json({"message": "You are being rate limited.", "retry_after": retry, "global": True}, 429)
            response.headers.update({"Retry-After": str(max(1, round(retry))), "X-RateLimit-Global": "true",
                                     "Via": "1.1 google", "X-RateLimit-Scope": "global"})
            return response
        self.window.append(now)
        response = await super()._rest(request)
        path = request.path[len(API_PREFIX):]
        if request.method == "POST" and path.endswith("/messages") and response.status == 200:
            self.posted_at.append(time.monotonic())
        return response


async def run() -> None:
    logging.basicConfig(level=logging.ERROR)
    standin = await RateLimitedStandIn().start()
    directory = scratch("studybot-fanout-")
    settings = Settings(db_path=directory / "bench.db", discord_token=standin.token, discord_api_url=standin.api_url,
                        discord_gateway_url=standin.gateway_url, daily_at=None, weekly_at=None, reveal_after=8 * 3600)
    store = Store.open(settings.db_path)
    adapter = DiscordAdapter(settings, guild_ready_timeout=0.05, connect_timeout=120)
    runtime = build_runtime(settings, load_bank(REPO / "questions.yaml"), store, adapters={"discord": adapter},
                            rng=random.Random(2))
    engine, router, scheduler = runtime.engine, runtime.router, runtime.scheduler
    guilds = []
    for n in range(CHANNELS):
        guild = str(1_200_000_000_000_000_000 + n)
        standin.add_guild(guild, f"team {n}")
        channel = standin.add_channel(guild, "llm-prep", str(1_210_000_000_000_000_000 + n))
        store.save_workspace(ChannelSettings("discord", guild, channel, "09:00", "*", "UTC", 8 * 3600, None),
                             "setup", engine.clock())
        guilds.append(guild)
    await adapter.start(router)
    standin.window.clear()
    standin.posted_at.clear()

    started = time.monotonic()
    await asyncio.gather(*(scheduler.daily("discord", guild) for guild in guilds))  # 09:00: every job fires
    questions_out = max(standin.posted_at) - started
    await adapter.delivery.settle(600)
    complete = time.monotonic() - started
    posted = len(standin.posted_at)
    rounds_ok = store.row("SELECT COUNT(*) AS n FROM rounds WHERE message_id IS NOT NULL")["n"]
    await adapter.stop()
    await standin.close()

    allowed = CHANNELS / LIMIT_PER_SECOND
    print(f"machine: {machine()}")
    print(f"{posted} questions posted ({rounds_ok} rounds recorded) in {questions_out:.1f} s; the limit allows "
          f"{allowed:.0f} s; {standin.limited} requests were answered 429")
    print(f"every round complete (reactions and threads too) after {complete:.1f} s")
    print(f"within 10% of {allowed:.0f} s: {verdict(posted == CHANNELS and questions_out <= allowed * 1.1)}")


if __name__ == "__main__":
    asyncio.run(run())
