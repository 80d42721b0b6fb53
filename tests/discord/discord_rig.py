"""Helpers for the Discord tests: the running bot, its clock, and readers of what it sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from adapters.discord import DiscordAdapter
from bot.engine import QuizEngine
from bot.models import Round
from bot.router import Router
from bot.scheduler import QuizScheduler
from bot.store import Store

GUILD = "1100000000000000001"
CHANNEL = "1110000000000000001"


class Clock:
    """The engine's clock, moved by the test (reveals are due when the test says so)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Bot:
    adapter: DiscordAdapter
    engine: QuizEngine
    router: Router
    scheduler: QuizScheduler
    store: Store
    clock: Clock
    stopped: bool = False

    async def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            await self.adapter.stop()
            self.store.close()


def text_of(message: dict) -> str:
    """Everything a reader sees in a message body: content, embed titles, descriptions and fields."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields") or []]
    return "\n".join(p for p in parts if p)


def custom_ids_of(message: dict) -> list[str]:
    return [button["custom_id"] for row in message.get("components") or [] for button in row.get("components", [])
            if "custom_id" in button]


def only_round(bot: Bot) -> Round:
    [rnd] = bot.engine.rounds.open_rounds()
    return rnd
