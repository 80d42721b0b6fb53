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
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
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
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> WriteButton:
        return cls(int(match["round"]))

    async def callback(self, interaction: discord.Interaction) -> Any:
        await _sink(interaction).on_write(interaction, self.round_id)


class CommandButton(discord.ui.DynamicItem[discord.ui.Button], template=custom_ids.COMMAND):
    """A button under a private message that runs `/quiz <command>` as its clicker (bot.events.Action)."""

    def __init__(self, command: str, label: str = "OK", danger: bool = False) -> None:
        style = discord.ButtonStyle.danger if danger else discord.ButtonStyle.primary
        super().__init__(discord.ui.Button(label=limits.shorten(label, 80), style=style,
                                           custom_id=custom_ids.command(command)))
        self.command = command

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> CommandButton:
        return cls(match["command"])

    async def callback(self, interaction: discord.Interaction) -> Any:
        await _sink(interaction).on_command(interaction, self.command)  # type: ignore[attr-defined]


DYNAMIC_ITEMS = (PickButton, WriteButton, CommandButton)


def command_view(actions) -> discord.ui.View:
    """Buttons for a message's actions (bot.events.Action): each runs its command as the member who clicks."""
    view = discord.ui.View(timeout=None)
    for action in actions[: limits.BUTTONS]:
        view.add_item(CommandButton(action.command, action.label, danger=action.command.startswith("forget-me")))
    return view


# The /quiz suggest form. A modal holds at most 5 fields: the level and the topic are the command's options
# (`/quiz suggest level:basic topic:...`), kept with the draft the form was opened from.
SUGGEST_MODAL_FIELDS = (("question", discord.TextStyle.paragraph), ("choices", discord.TextStyle.paragraph),
                        ("correct", discord.TextStyle.short), ("answer", discord.TextStyle.paragraph),
                        ("key_points", discord.TextStyle.paragraph))


class SuggestForm(discord.ui.Modal):
    """Drawn only: its submission is read from the raw interaction (client.py), like AnswerForm's."""

    def __init__(self, form) -> None:  # form: bot.outcomes.SuggestForm
        from bot.suggestions import FIELDS
        from bot.texts import SUGGEST_TITLE, suggest_hint, suggest_label

        limit = dict(FIELDS)
        title = f"Edit suggestion {form.editing}" if form.editing is not None else SUGGEST_TITLE
        super().__init__(title=limits.shorten(title, 45), custom_id=custom_ids.suggest_form(form.draft, form.editing),
                         timeout=FORM_TIMEOUT)
        for field, style in SUGGEST_MODAL_FIELDS:
            value = form.value(field)[: limit[field]] or None
            text: discord.ui.TextInput[Any] = discord.ui.TextInput(
                custom_id=field, style=style, required=False, max_length=limit[field], default=value)
            self.add_item(discord.ui.Label(text=suggest_label(field)[:45],
                                           description=suggest_hint(field, form.levels)[:100], component=text))


def form_values(components: list[dict]) -> dict[str, str]:
    """Every text input of a submitted form, by custom id, from the raw payload (action rows or labels)."""
    values: dict[str, str] = {}
    for component in components:
        if isinstance(component.get("custom_id"), str) and isinstance(component.get("value"), str):
            values[component["custom_id"]] = component["value"]
        nested = component.get("components") or ([component["component"]] if "component" in component else [])
        if isinstance(nested, list):
            values.update(form_values(nested))
    return values


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
        self.answer: discord.ui.TextInput[Any] = discord.ui.TextInput(
            custom_id=custom_ids.ANSWER_FIELD, style=discord.TextStyle.paragraph, min_length=1, max_length=MAX_WRITTEN,
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
