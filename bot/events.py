"""What adapters hand to the engine (inbound) and what the engine hands back (outbound).

Text is written in a small Markdown subset (**bold**, _italic_, `code`, "- " lists)
that every adapter can render; user-supplied text inside it is already defanged
(see bot.texts.defang), so no adapter has to guess which parts came from members.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path

from bot.models import Member, Place

# ---- inbound ---------------------------------------------------------------


@dataclass(frozen=True)
class CommandInvoked:
    """`/quiz <text>`; `is_admin` is the platform's own verdict (server manager, workspace admin)."""

    member: Member
    place: Place
    text: str
    is_admin: bool = False
    in_dm: bool = False


@dataclass(frozen=True)
class ChoiceMade:
    """A one-click answer: a reaction on a round post (message_id) or a button (round_id)."""

    member: Member
    choice: int
    round_id: int | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class WrittenAnswer:
    """An answer in the member's own words: thread reply (message_id of the root) or form (round_id)."""

    member: Member
    text: str
    round_id: int | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class SuggestionSubmitted:
    """The /quiz suggest form sent: its fields as typed (bot/suggestions.py FIELDS). `draft`: the stored draft it
    was opened from (a form sent back with errors); `editing`: the suggestion an admin edits."""

    member: Member
    place: Place
    values: tuple[tuple[str, str], ...]
    draft: int | None = None
    editing: int | None = None
    is_admin: bool = False


Inbound = CommandInvoked | ChoiceMade | WrittenAnswer | SuggestionSubmitted


# ---- outbound --------------------------------------------------------------


class Kind(str, Enum):
    ROUND = "round"  # a channel round's post: seed reactions (or buttons), open a thread
    CLOSED = "closed"  # the round post edited to show the round is closed
    REVEAL = "reveal"  # the reveal, as a reply in the round's thread
    PERSONAL = "personal"  # a private question with one button per choice
    FEEDBACK = "feedback"  # private feedback on an answer
    NOTICE = "notice"  # help, confirmations, errors
    BOARD = "board"  # a leaderboard
    STATS = "stats"  # a member's own record
    REMINDER = "reminder"  # a private nudge outside any conversation (a direct message where there is one)
    FORM = "form"  # a form for the member to fill in (/quiz suggest): a modal, or prompts in the console


@dataclass(frozen=True)
class Action:
    """A button under a private message that runs `/quiz <command>` as the member who clicks it (in the console:
    typing "yes" runs the first one)."""

    label: str
    command: str


@dataclass(frozen=True)
class Outgoing:
    """A message to send. The engine gives an `outcome` (bot/outcomes.py); its words come from bot/texts.py."""

    kind: Kind
    place: Place
    text: str = ""
    title: str = ""
    choices: tuple[str, ...] = ()
    round_id: int | None = None
    to: Member | None = None  # set: private to this member (ephemeral where the platform has it)
    edit_of: str | None = None  # platform id of a message to edit instead of posting
    deadline: datetime | None = None
    hidden_votes: bool = False
    image: Path | None = None
    actions: tuple[Action, ...] = ()  # buttons under a private message (e.g. confirm /quiz forget-me)
    ping: str | None = None  # a group to mention on a round post (/quiz setup ping=...): Discord role or Slack group id
    file: Path | None = None  # a file for the member (an Anki deck), sent privately where the platform allows one
    # Draws a PNG for this message when called (slow: the router calls it off the event loop, and only for
    # adapters that can attach images); its result becomes `image`.
    chart: Callable[[], Path | None] | None = field(default=None, compare=False, repr=False)
    outcome: object = field(default=None, compare=False)  # what the engine decided; text and title follow

    def __post_init__(self) -> None:
        if self.outcome is not None and not self.text:
            from bot.texts import render  # words live in one module; imported here to keep events light

            title, text = render(self.outcome)
            object.__setattr__(self, "text", text)
            if not self.title:
                object.__setattr__(self, "title", title)

    @property
    def private(self) -> bool:
        return self.to is not None
