"""Discord's limits: content <= 2,000, description <= 4,096, all embeds <= 6,000, <= 25 fields; splits at words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from discord_rig import CHANNEL, GUILD, text_of
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord import limits
from adapters.discord.render import render
from bot.events import Kind, Outgoing
from bot.models import Member, Place

PLACE = Place("discord", GUILD, CHANNEL)
ADA = Member("discord", "1300000000000000001", "Ada")


def _words(text: str) -> list[str]:
    return text.replace("```", " ").split()


def _within_limits(piece) -> None:
    assert piece.content is None or len(piece.content) <= limits.CONTENT
    assert len(piece.embeds) <= limits.EMBEDS
    assert sum(len(e) for e in piece.embeds) <= limits.TOTAL
    for embed in piece.embeds:
        assert len(embed.description or "") <= limits.DESCRIPTION
        assert len(embed.title or "") <= limits.TITLE
        assert len(embed.fields) <= limits.FIELDS
        assert all(len(f.name) <= limits.FIELD_NAME and len(f.value) <= limits.FIELD_VALUE for f in embed.fields)


def _long_answer(paragraphs: int = 40) -> str:
    body = ("Attention weighs every token against every other token, so the cost grows with the square of the "
            "context length; caching keys and values trades memory for speed at decoding time. ")
    code = "```python\n" + "\n".join(f"scores_{i} = q @ k.T / sqrt(d)  # step {i}" for i in range(60)) + "\n```"
    return "\n\n".join(body * 3 if i != paragraphs // 2 else code for i in range(paragraphs))


def test_a_long_model_answer_is_split_within_the_limits_at_word_boundaries():
    text = _long_answer()
    pieces = render(Outgoing(Kind.FEEDBACK, PLACE, text, title="Answer · advanced · Attention", to=ADA))
    assert len(pieces) >= 2
    for piece in pieces:
        _within_limits(piece)
    chunks = [e.description for p in pieces for e in p.embeds]
    assert _words("\n".join(chunks)) == _words(text)  # nothing lost, nothing cut inside a word
    assert all(chunk.count("```") % 2 == 0 for chunk in chunks)  # code blocks closed and reopened across cuts
    assert pieces[0].embeds[0].title == "Answer · advanced · Attention"


def test_plain_notices_go_in_content_split_under_2000():
    text = " ".join(f"word{i}" for i in range(1500))
    pieces = render(Outgoing(Kind.NOTICE, PLACE, text, to=ADA))
    assert len(pieces) > 1 and all(p.content and len(p.content) <= limits.CONTENT and not p.embeds for p in pieces)
    assert " ".join(p.content for p in pieces).split() == text.split()


def test_a_word_longer_than_the_limit_is_cut_with_a_marker():
    text = "start " + "x" * 5000 + " end"
    chunks = limits.split_text(text, limits.DESCRIPTION)
    assert all(len(c) <= limits.DESCRIPTION for c in chunks)
    assert chunks[1].endswith(limits.MARK)
    assert "".join(c.removesuffix(limits.MARK) for c in chunks).replace(" ", "") == text.replace(" ", "")


def test_a_round_post_always_fits_one_message_with_its_deadline():
    deadline = datetime.now(UTC) + timedelta(hours=8)
    text = "Which is right? " + "very long question " * 400
    [piece] = render(Outgoing(Kind.ROUND, PLACE, text, title="Question of the day · basic · X" * 20,
                              choices=("a", "b", "c", "d"), round_id=1, deadline=deadline))
    _within_limits(piece)
    assert piece.embeds[0].description.endswith(limits.MARK)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab \n`é😀-"), max_size=6000), st.integers(min_value=16, max_value=300))
def test_split_text_always_keeps_to_the_limit(text, limit):
    chunks = limits.split_text(text, limit)
    assert all(len(chunk) <= limit for chunk in chunks)
    rejoined = re.sub(r"\s+|`|…", "", "".join(chunks))
    assert rejoined == re.sub(r"\s+|`", "", text)


async def test_long_messages_reach_discord_within_the_limits(bot, discord_standin):
    """End to end: a long weekly board post and a long private answer, as the REST calls carry them."""
    await bot.adapter.send(Outgoing(Kind.BOARD, PLACE, _long_answer(), title="Leaderboard · week of 2026-11-16"))
    posts = discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")
    assert len(posts) >= 2
    for call in posts:
        embeds = call.body["embeds"]
        assert len(embeds) <= 10
        assert sum(len(e.get("title", "")) + len(e.get("description", "")) for e in embeds) <= 6000
        assert all(len(e["description"]) <= 4096 for e in embeds)
    assert _words("\n".join(text_of(c.body) for c in posts).replace("Leaderboard · week of 2026-11-16", "")) == \
        _words(_long_answer())
