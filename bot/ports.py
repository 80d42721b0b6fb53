"""The ports between the engine side and the chat adapters: what an adapter offers, and the hub it talks to.

They live on the engine side so that the dependency runs one way: adapters import bot, and bot imports
adapters only in the composition root (bot/runtime.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.events import Inbound, Outgoing
from bot.models import ChannelSettings, Member, Place


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
    """The one door from an adapter into the bot: events in, messages out, and the few lookups adapters need.

    `reply` is the interaction being answered (a Discord interaction, a Slack response_url...), opaque to
    the bot: it is handed back, explicitly, to the adapter that sends the answers.
    """

    async def handle(self, event: Inbound) -> list[Outgoing]:
        """Run an inbound event through the engine; returns the messages to send."""

    async def deliver(self, messages: list[Outgoing], reply: Any = None) -> None:
        """Send messages through their platform's adapter, keeping track of round posts."""

    async def run(self, event: Inbound, reply: Any = None) -> None:
        """handle() then deliver() with the interaction at hand."""

    @property
    def levels(self) -> tuple[str, ...]:
        """The bank's levels, in order (for command choices)."""

    def settings_for(self, platform: str, workspace: str) -> ChannelSettings: ...

    def register_channel(self, platform: str, workspace: str, channel: str) -> ChannelSettings: ...

    def current_round(self, member: Member, place: Place) -> int | None:
        """The round a bare answer is for, where a platform has no threads or buttons."""

    def autocomplete(self, what: str, typed: str) -> list[str]:
        """Names to offer while a member types (Discord's autocomplete): "topic" names, or "question" ids."""

    def is_round_message(self, platform: str, message_id: str) -> bool:
        """Whether a message (a reaction's target, a thread's root) is a round's post: adapters ask before
        spending an API call on the member's name."""

    def recall(self, key: str) -> str | None: ...

    def remember(self, key: str, value: str) -> None: ...

    def report_problem(self, platform: str, workspace: str, text: str) -> None:
        """Something admins must hear about (e.g. a missing permission), shown at their next command."""

    def set_workspace_active(self, platform: str, workspace: str, active: bool) -> None:
        """The app was uninstalled from a workspace (False: its schedules stop, its data stays) or installed again."""

    def home(self, member: Member, place: Place) -> tuple[str, str]:
        """A member's record and this week's board, as text (Slack's Home tab)."""


class ChatAdapter(Protocol):
    platform: str
    attaches_images: bool  # can it show a message's PNG (the router draws charts only for those that can)

    async def start(self, hub: Hub) -> None:
        """Connect and begin passing events to the hub; returns once connected."""

    async def stop(self) -> None: ...

    async def send(self, message: Outgoing, reply: Any = None) -> Sent | None:
        """Post, reply or edit; raises DeliveryError when the platform refuses. `reply`: see Hub."""

    def healthy(self) -> bool: ...
