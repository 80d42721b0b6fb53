"""What every chat adapter offers the runtime, and what the runtime offers adapters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.engine import QuizEngine
from bot.events import Inbound, Outgoing


@dataclass(frozen=True)
class Sent:
    """Where a message landed: its platform id and, for round posts, the thread opened under it."""

    message_id: str
    thread_id: str | None = None


class DeliveryError(Exception):
    """A message the platform refused; `problem` is worded for a workspace admin."""

    def __init__(self, problem: str, retryable: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retryable = retryable


class Hub(Protocol):
    """The runtime as an adapter sees it. `engine` is there for lookups (settings_for, register_channel,
    current_round, recall/remember, board, member_stats); all decisions go through handle()."""

    engine: QuizEngine

    async def handle(self, event: Inbound) -> list[Outgoing]:
        """Run an inbound event through the engine; returns the messages to send."""

    async def deliver(self, messages: list[Outgoing]) -> None:
        """Send messages through their platform's adapter, keeping track of round posts."""


class ChatAdapter(Protocol):
    platform: str
    attaches_images: bool  # can it show a message's PNG (the router draws charts only for those that can)

    async def start(self, hub: Hub) -> None:
        """Connect and begin passing events to the hub; returns once connected."""

    async def stop(self) -> None: ...

    async def send(self, message: Outgoing) -> Sent | None:
        """Post, reply or edit; raises DeliveryError when the platform refuses."""

    def healthy(self) -> bool: ...
