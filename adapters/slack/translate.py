"""Slack payloads -> drafts of engine events. Pure functions, no I/O.

Each function takes a payload as Slack documents it and returns a small draft
(who did what, with the platform ids already in the engine's form) or None
when the payload is nothing for studybot: other reactions, edits, deletions,
bot messages, top-level messages, malformed payloads. A draft becomes an
engine event once the adapter has looked the member up (their display name).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from adapters.slack.ids import choice_of_reaction, message_id, parse_pick, parse_write
from bot.events import ChoiceMade, CommandInvoked, WrittenAnswer
from bot.models import Member, Place

PLATFORM = "slack"
# Message subtypes that are still a member writing in a thread; every other subtype
# (message_changed, message_deleted, bot_message, channel_join, channel_archive, ...) is not an answer.
ANSWER_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def mapping(value: Any) -> dict[str, Any]:
    """A payload's object field, or {} when it is missing or not an object."""
    return value if isinstance(value, dict) else {}


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def unescape(text: str) -> str:
    """Slack sends &, <, > escaped in message text; grading wants the characters."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def team_of(body: dict) -> str | None:
    """The workspace (team id) of any payload: events, commands, interactions."""
    team = body.get("team")
    user = body.get("user")
    candidates = (
        body.get("team_id"),
        team.get("id") if isinstance(team, dict) else team,
        user.get("team_id") if isinstance(user, dict) else None,
    )
    return next((c for c in candidates if _text(c)), None)


# ---- slash command -----------------------------------------------------------------------


@dataclass(frozen=True)
class SlashCommand:
    user_id: str
    user_name: str
    team: str
    channel: str
    text: str
    in_dm: bool
    response_url: str | None

    def event(self, member: Member, is_admin: bool) -> CommandInvoked:
        return CommandInvoked(member, Place(PLATFORM, self.team, self.channel), self.text, is_admin, self.in_dm)


def slash_command(body: dict) -> SlashCommand | None:
    """A `/quiz ...` form post; the text after /quiz goes to the engine as it is."""
    user, team, channel = _text(body.get("user_id")), _text(body.get("team_id")), _text(body.get("channel_id"))
    if not (user and team and channel):
        return None
    text = _string(body.get("text"))
    in_dm = channel.startswith("D") or body.get("channel_name") == "directmessage"
    return SlashCommand(user, _text(body.get("user_name")) or user, team, channel, text, in_dm,
                        _text(body.get("response_url")))


# ---- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReactionAnswer:
    user_id: str
    choice: int
    message_id: str

    def event(self, member: Member) -> ChoiceMade:
        return ChoiceMade(member, self.choice, message_id=self.message_id)


def reaction_answer(event: dict, bot_user_id: str | None) -> ReactionAnswer | None:
    """reaction_added with `one`..`four` on a message, by someone other than the bot."""
    item = mapping(event.get("item"))
    user, name = _text(event.get("user")), _text(event.get("reaction"))
    channel, ts = _text(item.get("channel")), _text(item.get("ts"))
    if not (user and name and channel and ts) or item.get("type") != "message" or user == bot_user_id:
        return None
    choice = choice_of_reaction(name)
    return ReactionAnswer(user, choice, message_id(channel, ts)) if choice else None


@dataclass(frozen=True)
class ThreadAnswer:
    user_id: str
    text: str
    message_id: str  # the thread's root: a round post, or any other message

    def event(self, member: Member) -> WrittenAnswer:
        return WrittenAnswer(member, self.text, message_id=self.message_id)


def thread_answer(event: dict, bot_user_id: str | None) -> ThreadAnswer | None:
    """A member's new reply in a thread; edits, deletions, bots and top-level messages are not answers."""
    subtype = event.get("subtype")
    if not (subtype is None or isinstance(subtype, str)) or subtype not in ANSWER_SUBTYPES:
        return None
    if event.get("bot_id") or event.get("hidden"):
        return None
    user, channel = _text(event.get("user")), _text(event.get("channel"))
    ts, root = _text(event.get("ts")), _text(event.get("thread_ts"))
    if not (user and channel and ts and root) or root == ts or user == bot_user_id:
        return None
    text = _string(event.get("text"))
    return ThreadAnswer(user, unescape(text), message_id(channel, root))


def home_opened(event: dict) -> str | None:
    """The member who opened studybot's Home tab (not its Messages or About tab)."""
    if event.get("tab", "home") != "home":
        return None
    return _text(event.get("user"))


# ---- interactions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Interaction:
    """Who clicked or submitted, and where a private reply to it goes."""

    user_id: str
    user_name: str
    team: str
    channel: str | None
    response_url: str | None
    trigger_id: str | None


def interaction(body: dict) -> Interaction | None:
    user = mapping(body.get("user"))
    user_id, team = _text(user.get("id")), team_of(body)
    if not (user_id and team):
        return None
    channel = mapping(body.get("channel"))
    name = _text(user.get("name")) or _text(user.get("username")) or user_id
    return Interaction(user_id, name, team, _text(channel.get("id")), _text(body.get("response_url")),
                       _text(body.get("trigger_id")))


def _action_id(body: dict) -> str:
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        return _text(actions[0].get("action_id")) or ""
    return ""


def picked(body: dict) -> tuple[int, int] | None:
    """block_actions on a choice button -> (round id, choice)."""
    return parse_pick(_action_id(body))


def command_clicked(body: dict) -> str | None:
    """block_actions on a command button (bot.events.Action) -> the text after /quiz it runs."""
    if not _action_id(body).startswith("studybot:cmd:"):
        return None
    value = body["actions"][0].get("value")
    return value.strip()[:200] if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class SuggestionForm:
    """view_submission of the /quiz suggest modal: the fields typed, and what private_metadata kept."""

    user_id: str
    values: tuple[tuple[str, str], ...]
    draft: int | None
    editing: int | None
    channel: str | None
    response_url: str | None


def suggestion_form(body: dict) -> SuggestionForm | None:
    view = mapping(body.get("view"))
    user = mapping(body.get("user"))
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        state = view["state"]["values"]
        if not isinstance(meta, dict) or not isinstance(state, dict):
            return None
        values = []
        for block, actions in state.items():
            element = actions.get(block) if isinstance(actions, dict) else None
            if not isinstance(element, dict):
                continue
            chosen = element.get("selected_option")
            value = chosen.get("value") if isinstance(chosen, dict) else element.get("value")
            values.append((str(block), value if isinstance(value, str) else ""))
        draft = int(meta["draft"]) if meta.get("draft") is not None else None
        editing = int(meta["editing"]) if meta.get("editing") is not None else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    user_id = _text(user.get("id"))
    if not user_id:
        return None
    return SuggestionForm(user_id, tuple(values), draft, editing, _text(meta.get("channel")),
                          _text(meta.get("response_url")))


def write_requested(body: dict) -> int | None:
    """block_actions on "Answer in your own words" -> the round id."""
    return parse_write(_action_id(body))


@dataclass(frozen=True)
class ModalAnswer:
    user_id: str
    round_id: int
    text: str
    response_url: str | None
    channel: str | None

    def event(self, member: Member) -> WrittenAnswer:
        return WrittenAnswer(member, self.text, round_id=self.round_id)


def modal_answer(body: dict) -> ModalAnswer | None:
    """view_submission of the written-answer modal; the round travels in private_metadata."""
    view = mapping(body.get("view"))
    user = mapping(body.get("user"))
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        if not isinstance(meta, dict):
            return None
        round_id = int(meta["round_id"])
        text = view["state"]["values"]["answer"]["answer"]["value"] or ""
    except (ValueError, KeyError, TypeError):
        return None
    user_id = _text(user.get("id"))
    if not user_id or not isinstance(text, str):
        return None
    return ModalAnswer(user_id, round_id, text, _text(meta.get("response_url")), _text(meta.get("channel")))
