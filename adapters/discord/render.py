"""Engine messages as Discord messages: content and embeds within Discord's limits.

Pure functions of an Outgoing: no client, no I/O, so the limits are tested on
their own. Buttons are added by the caller (views.py); our Markdown subset
(**bold**, _italic_, `code`, ``` blocks, "- " lists) is Discord's own, so text
passes through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import discord

from adapters.discord import limits
from bot.events import Kind, Outgoing

NUMBER_EMOJI = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟")

COLOURS = {
    Kind.ROUND: 0x5865F2,
    Kind.CLOSED: 0x99AAB5,
    Kind.REVEAL: 0x57F287,
    Kind.BOARD: 0xFEE75C,
    Kind.PERSONAL: 0x5865F2,
}


@dataclass
class Piece:
    """One Discord message: content and/or embeds, already within the limits."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)

    def total(self) -> int:
        return sum(len(e) for e in self.embeds)


def render(message: Outgoing, thread_answers: bool = False) -> list[Piece]:
    """The messages that carry `message`, in order. ROUND and CLOSED always fit in one message."""
    if message.kind is Kind.ROUND:
        return [round_piece(message, thread_answers)]
    if message.kind is Kind.CLOSED:
        return [closed_piece(message)]
    if not message.title and message.kind in (Kind.NOTICE, Kind.FEEDBACK):
        return [Piece(content=chunk) for chunk in limits.split_text(message.text, limits.CONTENT)]
    return pack(embeds_for(message.title, message.text, COLOURS.get(message.kind)))


# ---- round posts ---------------------------------------------------------------------------


def round_piece(message: Outgoing, thread_answers: bool) -> Piece:
    description = f"{message.text}\n\n{how_to_answer(message, thread_answers)}"
    return single(message.title, description, COLOURS[Kind.ROUND])


def closed_piece(message: Outgoing) -> Piece:
    title = f"{message.title} · closed" if message.title else "Closed"
    return single(title, message.text, COLOURS[Kind.CLOSED])


def how_to_answer(message: Outgoing, thread_answers: bool) -> str:
    count = len(message.choices)
    written = "with the button below" + (" or by replying in the thread" if thread_answers else "")
    if not count:  # an open-ended question: words only
        lines = [f"Answer in your own words {written}; your first answer counts."]
        if message.deadline is not None:
            lines.append(f"Graded against the key points at the reveal, {when(message.deadline)}.")
        return "\n".join(lines)
    if message.hidden_votes:
        pick = f"Click a number from 1 to {count} below; only you see your pick until the reveal"
    else:
        pick = f"React with {' '.join(NUMBER_EMOJI[:count])}"
    lines = [f"{pick} (your first pick counts), or answer in your own words {written}."]
    if message.deadline is not None:
        lines.append(f"Revealed {when(message.deadline)}.")
    return "\n".join(lines)


def when(moment: datetime) -> str:
    """A Discord timestamp: shown in each reader's own time zone and language."""
    return f"{discord.utils.format_dt(moment, 'R')} ({discord.utils.format_dt(moment, 'f')})"


def single(title: str, description: str, colour: int | None) -> Piece:
    """One embed; a description over the limit is cut at a word with a marker (round posts are short)."""
    embed = discord.Embed(title=limits.shorten(title, limits.TITLE) or None, colour=colour,
                          description=limits.shorten(description, limits.DESCRIPTION))
    return Piece(embeds=[embed])


# ---- everything else ------------------------------------------------------------------------


def embeds_for(title: str, text: str, colour: int | None = None) -> list[discord.Embed]:
    """The text in as many embeds as it needs; the title on the first."""
    chunks = limits.split_text(text, limits.DESCRIPTION) if text.strip() else []
    embeds = [discord.Embed(description=chunk, colour=colour) for chunk in chunks]
    if not embeds:
        embeds.append(discord.Embed(colour=colour))
    if title:
        embeds[0].title = limits.shorten(title, limits.TITLE)
    return embeds


def pack(embeds: list[discord.Embed]) -> list[Piece]:
    """Embeds into messages: at most 10 a message and 6,000 characters of them together."""
    pieces: list[Piece] = []
    for embed in embeds:
        last = pieces[-1] if pieces else None
        if last is None or len(last.embeds) >= limits.EMBEDS or last.total() + len(embed) > limits.TOTAL:
            pieces.append(Piece())
        pieces[-1].embeds.append(embed)
    return pieces
