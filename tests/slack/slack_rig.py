"""The Slack test rig: the real bolt app served on 127.0.0.1, the real engine on a real SQLite file,
and a Slack stand-in (slack_fake.FakeSlack) on 127.0.0.1. Signed requests are made as Slack makes them."""

from __future__ import annotations

import itertools
import json
import random
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import aiohttp
import slack_payloads as payloads
from slack_fake import BOT_TOKEN, SIGNING_SECRET, TEAM, FakeSlack
from slack_sdk.signature import SignatureVerifier

from adapters.slack import SlackAdapter
from bot.config import Settings
from bot.engine import QuizEngine
from bot.models import Bank, Round
from bot.questions import load_bank
from bot.router import Router
from bot.runtime import build_runtime
from bot.scheduler import QuizScheduler
from bot.store import Store

REPO = Path(__file__).resolve().parents[2]
CHANNEL = "C0STUDY"
REVEAL_AFTER = 3600


@cache
def bank() -> Bank:
    return load_bank(REPO / "questions.yaml")


class Clock:
    """The engine's clock, moved by the tests (Slack's request timestamps stay on real time)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def sign(body: str, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Slack's v0 request signature (https://api.slack.com/authentication/verifying-requests-from-slack)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None  # None only without a timestamp
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


@dataclass
class Reply:
    status: int
    body: str
    seconds: float


def settings_for_test(tmp_path: Path, fake: FakeSlack, **changes) -> Settings:
    settings = Settings(
        db_path=tmp_path / "studybot.db", questions_path=REPO / "questions.yaml", daily_at=None, weekly_at=None,
        reveal_after=REVEAL_AFTER, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url, slack_channel=CHANNEL, port=0,
    )
    return replace(settings, **changes)


@dataclass
class SlackBot:
    """One running studybot with the Slack adapter, built the way bot/runtime.py builds it."""

    fake: FakeSlack
    settings: Settings
    clock: Clock
    store: Store
    engine: QuizEngine
    adapter: SlackAdapter
    router: Router
    scheduler: QuizScheduler
    session: aiohttp.ClientSession
    keys: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        assert self.adapter.http is not None
        return f"http://127.0.0.1:{self.adapter.http.port}/slack/events"

    async def close(self) -> None:
        await self.adapter.stop()
        self.scheduler.shutdown()
        await self.session.close()
        self.store.close()

    # ---- requests as Slack sends them ------------------------------------------------------

    async def post(self, body: str, content_type: str, headers: dict | None = None, signed: bool = True) -> Reply:
        sent = {"Content-Type": content_type, **(sign(body) if signed else {}), **(headers or {})}
        started = time.perf_counter()
        async with self.session.post(self.url, data=body.encode(), headers=sent) as response:
            text = await response.text()
        return Reply(response.status, text, time.perf_counter() - started)

    async def command(self, text: str, user: str = "U0ADA", channel: str = CHANNEL, key: str | None = None,
                      settle: bool = True) -> tuple[Reply, str]:
        """/quiz <text>; returns the HTTP reply and the key of its response_url on the stand-in."""
        key = key or f"cmd-{next(self.keys)}"
        body = payloads.slash(text, user, channel, self.fake.response_url(key))
        reply = await self.post(payloads.form(body), "application/x-www-form-urlencoded")
        if settle:
            await self.settle()
        return reply, key

    async def event(self, body: dict, headers: dict | None = None) -> Reply:
        reply = await self.post(json.dumps(body), "application/json", headers)
        await self.settle()
        return reply

    async def interact(self, payload: dict) -> Reply:
        reply = await self.post(payloads.interaction_form(payload), "application/x-www-form-urlencoded")
        await self.settle()
        return reply

    async def settle(self) -> None:
        assert await self.adapter.settled(10.0), "the adapter's listeners did not finish"

    # ---- the engine side ---------------------------------------------------------------------

    async def deliver_daily(self) -> Round:
        await self.router.deliver(self.engine.rounds.daily_round("slack", TEAM))
        rounds = self.store.open_channel_rounds()
        assert rounds, "no daily round was opened"
        return rounds[-1]

    def answers(self, round_id: int) -> dict:
        return {a.user_id: a for a in self.store.answers(round_id)}


async def start_bot(tmp_path: Path, fake: FakeSlack, clock: Clock | None = None, questions: Bank | None = None,
                    **changes) -> SlackBot:
    settings = settings_for_test(tmp_path, fake, **changes)
    clock = clock or Clock()
    store = Store.open(settings.db_path)
    adapter = SlackAdapter(settings, host="127.0.0.1", store=store)
    runtime = build_runtime(settings, questions or bank(), store, adapters={"slack": adapter}, clock=clock,
                            rng=random.Random(4))
    engine, router, scheduler = runtime.engine, runtime.router, runtime.scheduler
    await adapter.start(router)
    session = aiohttp.ClientSession()
    return SlackBot(fake, settings, clock, store, engine, adapter, router, scheduler, session)


def block_text(blocks: list[dict]) -> str:
    """Every piece of text in a list of blocks, for assertions."""
    out = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        for item in block.get("fields", []) + block.get("elements", []):
            text = item.get("text")
            out.append(text["text"] if isinstance(text, dict) else text or "")
    return "\n".join(out)
