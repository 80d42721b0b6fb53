"""The custom ids of our buttons and forms.

They carry the round id, so a click or a form sent after a restart still names
its round: nothing about a round lives in the client's memory.
"""

from __future__ import annotations

import re

PREFIX = "studybot"
PICK = re.compile(rf"{PREFIX}:pick:(?P<round>\d{{1,18}}):(?P<choice>\d{{1,2}})")
WRITE = re.compile(rf"{PREFIX}:write:(?P<round>\d{{1,18}})")
ANSWER_FORM = re.compile(rf"{PREFIX}:answer:(?P<round>\d{{1,18}})")
ANSWER_FIELD = "answer"  # the text input inside the answer form
# A button that runs `/quiz <command>` as the member who clicks it (bot.events.Action), and the /quiz suggest form
# with the stored draft it was opened from and the suggestion an admin edits (0: none).
COMMAND = re.compile(rf"{PREFIX}:cmd:(?P<command>[^\n]{{1,86}})")
SUGGEST_FORM = re.compile(rf"{PREFIX}:suggest:(?P<draft>\d{{1,18}}):(?P<editing>\d{{1,18}})")


def command(text: str) -> str:
    return f"{PREFIX}:cmd:{text}"[:100]


def suggest_form(draft: int | None, editing: int | None) -> str:
    return f"{PREFIX}:suggest:{draft or 0}:{editing or 0}"


def form_suggestion(custom_id: str) -> tuple[int | None, int | None] | None:
    """(draft, editing) of a /quiz suggest form's custom id, or None for any other form."""
    match = SUGGEST_FORM.fullmatch(custom_id or "")
    if not match:
        return None
    return int(match["draft"]) or None, int(match["editing"]) or None


def pick(round_id: int, choice: int) -> str:
    return f"{PREFIX}:pick:{round_id}:{choice}"


def write(round_id: int) -> str:
    return f"{PREFIX}:write:{round_id}"


def answer_form(round_id: int) -> str:
    return f"{PREFIX}:answer:{round_id}"


def form_round(custom_id: str) -> int | None:
    """The round id of an answer form's custom id, or None for any other form."""
    match = ANSWER_FORM.fullmatch(custom_id or "")
    return int(match["round"]) if match else None
