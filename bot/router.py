"""The hub: the one door between the adapters and the engine.

Inbound events go to the engine; each outbound message goes through the adapter of its platform,
with the interaction being answered passed along explicitly; round posts are remembered.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import replace
from typing import Any

from bot import grading
from bot.engine import QuizEngine
from bot.events import Inbound, Kind, Outgoing
from bot.inflight import InFlight
from bot.metrics import Metrics
from bot.models import ChannelSettings, Member, Place, Question
from bot.outcomes import QuestionAsked
from bot.ports import ChatAdapter, DeliveryError

log = logging.getLogger(__name__)

# A replica that claimed a round's post and died before it landed: another replica's safety net posts it after this.
POST_LEASE_SECONDS = 120


def holder_name() -> str:
    """Who holds a claim in the database, for people reading it: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Router:
    """The hub that adapters talk to (bot.ports.Hub): engine calls in, messages out."""

    def __init__(self, engine: QuizEngine, adapters: dict[str, ChatAdapter], metrics: Metrics | None = None) -> None:
        self.engine = engine
        self.metrics = metrics or Metrics()
        self.adapters = adapters
        self._posting: set[int] = set()  # round posts in flight, so a retry never doubles them
        self.holder = holder_name()  # other replicas see posts in flight through a lease in the database
        self.accepting = True
        self.in_flight = InFlight()  # events being handled: a shutdown lets them finish
        self._prepared: set[str] = set()  # questions whose grading was prepared (grading.prepare) in this process
        self._preparing: set[asyncio.Task[None]] = set()  # held so that the tasks are not collected while running

    async def handle(self, event: Inbound) -> list[Outgoing]:
        if not self.accepting:
            return []
        started = time.perf_counter()
        try:
            with self.in_flight.track():
                return await self.engine.handle_async(event)
        finally:
            self.metrics.handler_seconds.observe(time.perf_counter() - started)

    async def run(self, event: Inbound, reply: Any = None) -> None:
        with self.in_flight.track():  # the replies too: a shutdown lets them reach the member
            await self.deliver(await self.handle(event), reply)

    async def deliver(self, messages: list[Outgoing], reply: Any = None) -> None:
        failed: dict[int, str] = {}  # round id -> why its post was refused, for the confirmations after it
        for message in messages:
            if message.kind is Kind.NOTICE and message.round_id in failed:
                message = replace(message, text=f"I could not post that round: {failed[message.round_id]} "
                                                "It is kept and retried every minute.")
            problem = await self.deliver_one(message, reply)
            if problem and message.round_id is not None:
                failed[message.round_id] = problem

    async def deliver_one(self, message: Outgoing, reply: Any = None) -> str | None:
        """Send one message; returns the platform's refusal, worded for admins, if there was one."""
        adapter = self.adapters.get(message.place.platform)
        if adapter is None:
            log.warning("no adapter for platform %s; message dropped", message.place.platform)
            return None
        if message.chart is not None:
            image = await asyncio.to_thread(message.chart) if adapter.attaches_images else None
            message = replace(message, image=image, chart=None)
        post = message.round_id if message.kind is Kind.ROUND else None  # the round this message posts
        if post is not None:
            if post in self._posting:
                return None
            claim = f"post:{post}"
            if not self.engine.store.claim(claim, self.holder, self.engine.clock(), POST_LEASE_SECONDS):
                return None  # another replica is posting it right now
            self._posting.add(post)
        try:
            try:
                sent = await adapter.send(message, reply)
            except DeliveryError as error:
                log.warning("delivery failed in %s/%s: %s", message.place.platform, message.place.channel,
                            error.problem)
                self.engine.report_problem(message.place.platform, message.place.workspace, error.problem)
                return error.problem
            except Exception:  # a platform hiccup must not take the bot down
                log.exception("delivery failed in %s/%s", message.place.platform, message.place.channel)
                return "the platform did not answer."
            if post is not None and sent is not None:
                self.engine.rounds.round_posted(post, sent.message_id, sent.thread_id)
                self.metrics.rounds_posted += 1
            if message.kind is Kind.ROUND and isinstance(message.outcome, QuestionAsked):
                self.prepare(message.outcome.question)
            return None
        finally:
            if post is not None:
                self._posting.discard(post)
                self.engine.store.release(f"post:{post}", self.holder)  # after its message id is stored

    def prepare(self, question: Question) -> None:
        """Compute a channel round's question's grading anchors (~7 ms) in a worker thread as the round is posted,
        while members read it, so that its first written answer and its reveal find them ready. A member's own
        question is not prepared so: a burst of /quiz would keep taking the GIL from the loop (bench_commands
        through Router.run: p99 206 ms, against 12 ms); its anchors come with its first written answer."""
        if question.id in self._prepared:
            return
        self._prepared.add(question.id)
        task = asyncio.create_task(asyncio.to_thread(grading.prepare, question))
        self._preparing.add(task)
        task.add_done_callback(self._preparing.discard)

    def serves(self, platform: str, workspace: str) -> bool:
        """Does this process post that workspace's scheduled rounds: an adapter for its platform that takes it
        (a Discord process runs some shards only; see DiscordAdapter.serves)."""
        adapter = self.adapters.get(platform)
        if adapter is None:
            return False
        takes = getattr(adapter, "serves", None)
        return takes(workspace) if callable(takes) else True

    # ---- lookups adapters need (bot.ports.Hub) -------------------------------------------------

    @property
    def levels(self) -> tuple[str, ...]:
        return self.engine.bank.levels

    def settings_for(self, platform: str, workspace: str) -> ChannelSettings:
        return self.engine.settings_for(platform, workspace)

    def register_channel(self, platform: str, workspace: str, channel: str) -> ChannelSettings:
        return self.engine.workspaces.register_channel(platform, workspace, channel)

    def current_round(self, member: Member, place: Place) -> int | None:
        return self.engine.rounds.current_round(member, place)

    def autocomplete(self, what: str, typed: str) -> list[str]:
        return self.engine.autocomplete(what, typed)

    def is_round_message(self, platform: str, message_id: str) -> bool:
        return self.engine.store.round_by_message(platform, message_id) is not None

    def recall(self, key: str) -> str | None:
        return self.engine.recall(key)

    def remember(self, key: str, value: str) -> None:
        self.engine.remember(key, value)

    def report_problem(self, platform: str, workspace: str, text: str) -> None:
        self.engine.report_problem(platform, workspace, text)

    def set_workspace_active(self, platform: str, workspace: str, active: bool) -> None:
        """Every replica's scheduler sees it at its next poll (bot/scheduler.py): no more rounds there."""
        self.engine.store.set_workspace_active(platform, workspace, active, self.engine.clock())

    def home(self, member: Member, place: Place) -> tuple[str, str]:
        boards = self.engine.boards
        stats = "\n\n".join(message.text for message in boards.member_stats(member, place, chart=False))
        return stats, boards.board(place, "week", member.user_id)
