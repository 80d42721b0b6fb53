"""Buttons and the answer form.

The buttons are dynamic items: discord.py matches a click's custom id against
their templates, so a click on a post made before a restart still reaches us
with its round id. The form (modal) is only drawn here; its submission is read
from the raw interaction (see client.py), because discord.py dispatches a
submitted modal only to a Modal object it still holds in memory.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

import discord

from adapters.discord import custom_ids, limits

WRITE_LABEL = "Answer in your own words"
FORM_TITLE = "Your answer"
FORM_TIMEOUT = 30 * 60.0  # seconds discord.py keeps a drawn form around; the submission does not depend on it
MAX_WRITTEN = 4000  # Discord's limit for a text input


class ButtonSink(Protocol):
    """What a click is handed to (the adapter)."""

    async def on_pick(self, interaction: discord.Interaction, round_id: int, choice: int) -> None: ...

    async def on_write(self, interaction: discord.Interaction, round_id: int) -> None: ...


def _sink(interaction: discord.Interaction) -> ButtonSink:
    return interaction.client.sink  # type: ignore[attr-defined]  # set by StudyClient


class PickButton(discord.ui.DynamicItem[discord.ui.Button], template=custom_ids.PICK):
    def __init__(self, round_id: int, choice: int) -> None:
        super().__init__(discord.ui.Button(label=str(choice), style=discord.ButtonStyle.secondary,
                                           custom_id=custom_ids.pick(round_id, choice)))
        self.round_id = round_id
        self.choice = choice

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> PickButton:
        return cls(int(match["round"]), int(match["choice"]))

    async def callback(self, interaction: discord.Interaction) -> Any:
        await _sink(interaction).on_pick(interaction, self.round_id, self.choice)


class WriteButton(discord.ui.DynamicItem[discord.ui.Button], template=custom_ids.WRITE):
    def __init__(self, round_id: int) -> None:
        super().__init__(discord.ui.Button(label=WRITE_LABEL, emoji="✍️", style=discord.ButtonStyle.primary,
                                           custom_id=custom_ids.write(round_id)))
        self.round_id = round_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> WriteButton:
        return cls(int(match["round"]))

    async def callback(self, interaction: discord.Interaction) -> Any:
        await _sink(interaction).on_write(interaction, self.round_id)


DYNAMIC_ITEMS = (PickButton, WriteButton)


def answer_view(round_id: int, choices: int, pick_buttons: bool) -> discord.ui.View:
    """The buttons under a question: one per choice when asked, then the written-answer button."""
    view = discord.ui.View(timeout=None)
    if pick_buttons:
        for choice in range(1, min(choices, limits.BUTTONS - 1) + 1):
            view.add_item(PickButton(round_id, choice))
    view.add_item(WriteButton(round_id))
    return view


class AnswerForm(discord.ui.Modal):
    """The form behind "Answer in your own words". on_submit is deliberately empty: see the module doc."""

    def __init__(self, round_id: int) -> None:
        super().__init__(title=FORM_TITLE, custom_id=custom_ids.answer_form(round_id), timeout=FORM_TIMEOUT)
        self.answer = discord.ui.TextInput(custom_id=custom_ids.ANSWER_FIELD, style=discord.TextStyle.paragraph,
                                           min_length=1, max_length=MAX_WRITTEN,
                                           placeholder="Explain it as you would in an interview.")
        self.add_item(discord.ui.Label(text="Your answer", component=self.answer))


def form_text(components: list[dict]) -> str | None:
    """The answer typed into a submitted form, from the raw payload (action rows or labels)."""
    for component in components:
        if component.get("custom_id") == custom_ids.ANSWER_FIELD and isinstance(component.get("value"), str):
            return component["value"]
        nested = component.get("components") or ([component["component"]] if "component" in component else [])
        found = form_text(nested) if isinstance(nested, list) else None
        if found is not None:
            return found
    return None
