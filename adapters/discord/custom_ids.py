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
