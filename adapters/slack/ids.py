"""The ids studybot gives Slack things, and reads back.

Slack message ids (`ts`) are unique only within a channel, so the engine gets
"<channel>:<ts>" for every message id; button action ids carry the round id.
"""

from __future__ import annotations

import re

ACTION_PREFIX = "studybot:"
PICK = re.compile(r"^studybot:pick:(\d{1,12}):(\d{1,2})$")
WRITE = re.compile(r"^studybot:write:(\d{1,12})$")
WRITTEN_VIEW = "studybot:written"  # callback_id of the "answer in your own words" modal
SUGGEST_VIEW = "studybot:suggest"  # callback_id of the /quiz suggest modal
COMMAND = re.compile(r"^studybot:cmd:(\d{1,2})$")  # a button that runs /quiz <its value> (bot.events.Action)


def command_action(index: int) -> str:
    return f"{ACTION_PREFIX}cmd:{index}"

# Slack's reaction names for the choice numbers, in order.
CHOICE_REACTIONS = ("one", "two", "three", "four")


def message_id(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def split_message_id(value: str) -> tuple[str, str]:
    """'C123:1700000000.000100' -> ('C123', '1700000000.000100'); ValueError on anything else."""
    channel, sep, ts = value.partition(":")
    if not sep or not channel or not ts:
        raise ValueError(f"not a Slack message id of the form <channel>:<ts>: {value!r}")
    return channel, ts


def pick_action(round_id: int, choice: int) -> str:
    return f"{ACTION_PREFIX}pick:{round_id}:{choice}"


def write_action(round_id: int) -> str:
    return f"{ACTION_PREFIX}write:{round_id}"


def parse_pick(action_id: str) -> tuple[int, int] | None:
    match = PICK.match(action_id)
    return (int(match[1]), int(match[2])) if match else None


def parse_write(action_id: str) -> int | None:
    match = WRITE.match(action_id)
    return int(match[1]) if match else None


def choice_of_reaction(name: str) -> int | None:
    """'two' -> 2; any other reaction -> None (skin tones never apply to these)."""
    try:
        return CHOICE_REACTIONS.index(name) + 1
    except ValueError:
        return None
