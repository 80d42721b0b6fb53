"""Send each outbound message through the adapter of its platform, and remember round posts."""

from __future__ import annotations

import logging
import time

from adapters.base import ChatAdapter, DeliveryError
from bot.engine import QuizEngine
from bot.events import Inbound, Kind, Outgoing
from bot.metrics import Metrics

log = logging.getLogger(__name__)


class Router:
    """The hub that adapters talk to: engine calls in, messages out."""

    def __init__(self, engine: QuizEngine, adapters: dict[str, ChatAdapter], metrics: Metrics | None = None) -> None:
        self.engine = engine
        self.metrics = metrics or Metrics()
        self.adapters = adapters
        self._posting: set[int] = set()  # round posts in flight, so a retry never doubles them
        self.accepting = True

    async def handle(self, event: Inbound) -> list[Outgoing]:
        if not self.accepting:
            return []
        started = time.perf_counter()
        try:
            return self.engine.handle(event)
        finally:
            self.metrics.handler_seconds.observe(time.perf_counter() - started)

    async def deliver(self, messages: list[Outgoing]) -> None:
        for message in messages:
            await self.deliver_one(message)

    async def deliver_one(self, message: Outgoing) -> None:
        adapter = self.adapters.get(message.place.platform)
        if adapter is None:
            log.warning("no adapter for platform %s; message dropped", message.place.platform)
            return
        is_post = message.kind is Kind.ROUND and message.round_id is not None
        if is_post:
            if message.round_id in self._posting:
                return
            self._posting.add(message.round_id)
        try:
            sent = await adapter.send(message)
        except DeliveryError as error:
            log.warning("delivery failed in %s/%s: %s", message.place.platform, message.place.channel, error.problem)
            self.engine.report_problem(message.place.platform, message.place.workspace, error.problem)
            return
        except Exception:  # a platform hiccup must not take the bot down
            log.exception("delivery failed in %s/%s", message.place.platform, message.place.channel)
            return
        finally:
            if is_post:
                self._posting.discard(message.round_id)
        if is_post and sent is not None:
            self.engine.round_posted(message.round_id, sent.message_id, sent.thread_id)
            self.metrics.rounds_posted += 1
