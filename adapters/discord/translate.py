"""Discord events as engine events: who, where, and what they answered.

Each function takes what discord.py parsed from a gateway payload and returns
an engine event, or None when the event is not for us.
"""

from __future__ import annotations

import discord

from adapters.discord.render import NUMBER_EMOJI
from bot.events import ChoiceMade, WrittenAnswer
from bot.models import Member, Place

PLATFORM = "discord"
_VARIATION = "\ufe0f"  # some clients send keycap emoji with, some without, this selector
_CHOICE_BY_EMOJI = {emoji.replace(_VARIATION, ""): n for n, emoji in enumerate(NUMBER_EMOJI, 1)}


def member_of(user: discord.abc.User | None, user_id: int) -> Member:
    """The engine's member; a member who left (no user data) keeps their id and a neutral name."""
    name = user.display_name if user is not None else ""
    return Member(PLATFORM, str(user_id), name or "someone")


def place_of(interaction: discord.Interaction) -> Place:
    """Where a command was used. In a thread, the channel is the thread's parent (rounds post in channels)."""
    workspace = str(interaction.guild_id or "dm")
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and channel.parent_id:
        return Place(PLATFORM, workspace, str(channel.parent_id), str(channel.id))
    return Place(PLATFORM, workspace, str(interaction.channel_id or "dm"))


def choice_of(emoji: discord.PartialEmoji) -> int | None:
    """1️⃣ -> 1 ... 🔟 -> 10; custom emoji and anything else -> None."""
    if emoji.id is not None or not emoji.name:
        return None
    return _CHOICE_BY_EMOJI.get(emoji.name.replace(_VARIATION, ""))


def reaction_choice(event: discord.RawReactionActionEvent, bot_id: int | None) -> ChoiceMade | None:
    """A number reaction by a member on some message in a server (the engine knows if it is a round post)."""
    if event.guild_id is None or event.user_id == bot_id:
        return None
    if event.member is not None and event.member.bot:
        return None  # other bots do not play
    choice = choice_of(event.emoji)
    if choice is None:
        return None
    return ChoiceMade(member_of(event.member, event.user_id), choice, message_id=str(event.message_id))


def thread_answer(message: discord.Message, bot_id: int | None) -> WrittenAnswer | None:
    """A member's message in a thread: a written answer if the thread is a round's (the thread id is the post's)."""
    if message.guild is None or message.author.bot or message.author.id == bot_id:
        return None
    if message.type not in (discord.MessageType.default, discord.MessageType.reply):
        return None
    channel = message.channel
    # A thread not in the cache arrives as a PartialMessageable; it may still be a round's thread.
    if not isinstance(channel, (discord.Thread, discord.PartialMessageable)):
        return None
    return WrittenAnswer(member_of(message.author, message.author.id), message.content, message_id=str(channel.id))
