"""Block Kit rendering and its limits: <= 50 blocks, section text <= 3,000, header <= 150."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_rig import block_text

from adapters.slack import render
from bot.events import Kind, Outgoing
from bot.models import Member, Place

PLACE = Place("slack", "T0STUDY", "C0STUDY")


def _sections(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def _check_limits(blocks: list[dict], most: int = render.MAX_BLOCKS) -> None:
    assert 0 < len(blocks) <= most
    for block in blocks:
        if block["type"] == "header":
            assert 0 < len(block["text"]["text"]) <= render.HEADER_LIMIT
        if block["type"] == "section" and "text" in block:
            assert 0 < len(block["text"]["text"]) <= render.SECTION_LIMIT
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= render.BUTTON_LIMIT and len(element["action_id"]) <= 255


def _bare(text: str) -> str:
    """Text with the fences a split may add and all whitespace removed, to compare content."""
    return re.sub(r"\s", "", text.replace("```", ""))


def test_markdown_subset_becomes_escaped_mrkdwn():
    text = "**Answer: 2.** x < y & z > w\n- one\n- two\n_italic_ `code`\n```\n- kept & <b>\n```"
    out = render.mrkdwn(text)
    assert out.startswith("*Answer: 2.* x &lt; y &amp; z &gt; w\n• one\n• two\n_italic_ `code`")
    assert out.endswith("```\n- kept &amp; &lt;b&gt;\n```")  # code stays code, only escaped


def test_deadline_uses_slack_date_formatting():
    moment = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    assert render.slack_date(moment) == "<!date^1741080600^{date_short_pretty} at {time}|2025-03-04 09:30 UTC>"


def test_long_answers_are_split_across_sections_and_messages():
    paragraph = "Attention weighs every token against every other token. " * 30
    text = "\n\n".join([paragraph] * 150) + "\n```\n" + "\n".join(f"row {i} & more" for i in range(3000)) + "\n```"
    message = Outgoing(Kind.REVEAL, PLACE.in_thread("C0STUDY:1.2"), text, title="T" * 400)
    pages = render.text_pages(message)
    assert len(pages) > 1
    for blocks in pages:
        _check_limits(blocks)
    shown = "\n".join(s for blocks in pages for s in _sections(blocks))
    assert _bare(shown) == _bare(render.mrkdwn(text))
    for section in (s for blocks in pages for s in _sections(blocks)):
        assert section.count("```") % 2 == 0  # a code block cut in two is closed and reopened


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=200), st.just("```"), st.just("- item & <x>"),
                          st.builds(lambda n, unit: (unit * n)[:n], st.integers(2900, 7000),
                                    st.sampled_from(["a", "&", "ab ", "<b> ", "x&y"]))), max_size=30))
def test_split_text_keeps_every_piece_within_the_limit(lines):
    text = "\n".join(lines)
    pieces = render.split_text(render.escape(text))
    assert all(len(p) <= render.SECTION_LIMIT for p in pieces)
    assert _bare("".join(pieces)) == _bare(render.escape(text))
    assert not any(re.search(r"&[a-z]{0,3}$", p) for p in pieces)  # no &amp; cut in half


def test_round_post_stays_one_message_however_long():
    message = Outgoing(Kind.ROUND, PLACE, "Why? " * 40_000, title="Question of the day · advanced · " + "x" * 300,
                       choices=("a", "b", "c", "d"), round_id=7, hidden_votes=True,
                       deadline=datetime(2025, 3, 4, 9, 30, tzinfo=UTC))
    blocks = render.round_blocks(message)
    _check_limits(blocks)
    assert blocks[-1]["type"] == "actions" and blocks[-2]["type"] == "context"
    assert "shortened" in block_text(blocks)
    ids = [e["action_id"] for e in blocks[-1]["elements"]]
    assert ids == ["studybot:pick:7:1", "studybot:pick:7:2", "studybot:pick:7:3", "studybot:pick:7:4",
                   "studybot:write:7"]


def test_personal_question_has_a_button_per_choice():
    message = Outgoing(Kind.PERSONAL, PLACE, "Q?\n\n**1.** a\n**2.** b", title="Your question · basic · x",
                       choices=("a", "b"), round_id=3, to=Member("slack", "U1", "Ada"))
    [blocks] = render.message_pages(message)
    _check_limits(blocks)
    assert [e["text"]["text"] for e in blocks[-1]["elements"]] == ["1", "2", "Answer in your own words"]


def test_home_view_and_modal_stay_within_their_limits():
    view = render.home_view("Ada", "- stat\n" * 30_000, "```\n" + "row\n" * 30_000 + "```")
    _check_limits(view["blocks"], render.MAX_HOME_BLOCKS)
    modal = render.written_modal(12, "https://hooks.slack.com/actions/T/1/x", "C0STUDY")
    assert len(modal["title"]["text"]) <= 24 and len(modal["private_metadata"]) <= 3000
    assert modal["blocks"][0]["element"]["max_length"] == render.MODAL_INPUT_LIMIT


def test_fallback_text_is_short_and_escaped():
    message = Outgoing(Kind.NOTICE, PLACE, "<@U1> & " * 2000, title="Hello")
    text = render.fallback(message)
    assert len(text) <= render.FALLBACK_LIMIT and "<@" not in text
