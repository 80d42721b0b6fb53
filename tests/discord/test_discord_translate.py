"""Pure translations: slash command uses to the engine's text, keycap emoji to choices, form payloads to text."""

from __future__ import annotations

import shlex

import discord
import pytest
from discord_standin import sample

from adapters.discord.commands import FIXED, MAX_SUBCOMMANDS, command_text, raw_command_text, usable_levels
from adapters.discord.translate import choice_of
from adapters.discord.views import form_text
from bot.commands import parse


@pytest.mark.parametrize(("name", "options", "text"), [
    ("advanced", {}, "advanced"),
    ("any", {}, ""),
    ("post", {"level": None}, "post"),
    ("post", {"level": "basic"}, "post basic"),
    ("leaderboard", {"scope": "all"}, "leaderboard all"),
    ("stats", {"team": False}, "stats"),
    ("stats", {"team": True}, "stats team"),
    ("review", {"remind": "off"}, "review remind off"),
    ("setup", {"channel": discord.Object(123), "time": "09:00", "reveal": "8h", "hidden": None},
     "setup channel=123 time=09:00 reveal=8h"),
])
def test_slash_command_uses_become_the_engines_text(name, options, text):
    assert command_text(name, options) == text


def test_setup_values_with_spaces_or_quotes_survive_the_engines_parser():
    text = command_text("setup", {"weekly": "mon  09:00", "timezone": "it's/odd", "hidden": True})
    assert shlex.split(text) == ["setup", "timezone=it's/odd", "weekly=mon 09:00", "hidden=on"]
    command = parse(text, ("basic",))
    assert command.name == "setup" and command.args == ("timezone=it's/odd", "weekly=mon 09:00", "hidden=on")


def test_an_unknown_subcommand_is_read_from_the_raw_payload():
    data = sample("interaction_application_command")["data"]
    assert raw_command_text(data) == "advanced"
    data["options"] = [{"name": "expert", "type": 1, "options": [{"name": "x", "type": 3, "value": "y"}]}]
    assert raw_command_text(data) == "expert y"


def test_levels_that_cannot_be_subcommands_are_skipped():
    levels = ("Basic", "help", "two words", "x" * 33, "prompt-engineering")
    assert usable_levels(levels) == ["basic", "prompt-engineering"]
    assert len(usable_levels(tuple(f"level{i}" for i in range(40)))) == MAX_SUBCOMMANDS - len(FIXED)
    assert len(FIXED) + 6 <= MAX_SUBCOMMANDS  # the shipped bank's six levels all fit beside the fixed subcommands


@pytest.mark.parametrize(("emoji", "choice"), [
    ("1️⃣", 1), ("4\u20e3", 4), ("🔟", 10), ("❤️", None), ("1", None),
])
def test_keycaps_with_or_without_the_variation_selector_are_choices(emoji, choice):
    assert choice_of(discord.PartialEmoji(name=emoji)) == choice
    assert choice_of(discord.PartialEmoji(name="one", id=123)) is None  # a custom emoji named like a number


def test_the_typed_answer_is_found_in_labels_and_action_rows():
    labelled = sample("interaction_modal_submit")["data"]["components"]
    assert form_text(labelled).startswith("Self-attention")
    rows = [{"type": 1, "components": [{"type": 4, "custom_id": "answer", "value": "in a row"}]}]
    assert form_text(rows) == "in a row"
    assert form_text([{"type": 1, "components": [{"type": 4, "custom_id": "other", "value": "x"}]}]) is None
