"""Fixtures: a Discord stand-in on 127.0.0.1, and studybot built as bot/runtime.py builds it, on a real SQLite file."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from discord_rig import CHANNEL, GUILD, Bot, Clock
from discord_standin import DiscordStandIn

from adapters.discord import DiscordAdapter
from bot.config import DEFAULT_QUESTIONS, Settings
from bot.models import Bank
from bot.questions import load_bank
from bot.runtime import build_runtime
from bot.store import Store


@pytest.fixture(scope="session")
def bank() -> Bank:
    return load_bank(DEFAULT_QUESTIONS)


@pytest.fixture
async def discord_standin():
    standin = await DiscordStandIn().start()
    standin.add_guild(GUILD)
    standin.add_channel(GUILD, "llm-interview-prep", CHANNEL)
    yield standin
    await standin.close()


@pytest.fixture
def settings(discord_standin: DiscordStandIn, tmp_path: Path) -> Settings:
    return Settings(
        db_path=tmp_path / "studybot.db", discord_token=discord_standin.token, discord_api_url=discord_standin.api_url,
        discord_gateway_url=discord_standin.gateway_url, daily_at=None, weekly_at=None, reveal_after=3600,
    )


@pytest.fixture
async def start_bot(settings: Settings, bank: Bank):
    """start_bot(**setting_changes) -> a running Bot, built as bot/runtime.py builds it; the same DB file each time."""
    bots: list[Bot] = []
    clock = Clock()

    async def start(questions: Bank | None = None, **changes) -> Bot:
        chosen = replace(settings, **changes)
        store = Store.open(chosen.db_path)
        adapter = DiscordAdapter(chosen, guild_ready_timeout=0.05, connect_timeout=10)
        runtime = build_runtime(chosen, questions or bank, store, adapters={"discord": adapter}, clock=clock,
                                rng=random.Random(7))
        # the scheduler's jobs are called by the tests, not by the clock
        bot = Bot(adapter, runtime.engine, runtime.router, runtime.scheduler, store, clock)
        router = runtime.router
        bots.append(bot)
        await adapter.start(router)
        return bot

    yield start
    for one in bots:
        await one.stop()


@pytest.fixture
async def bot(start_bot) -> Bot:
    return await start_bot()
