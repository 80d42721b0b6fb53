"""Property-based tests: whatever people type or files hold, no crash, a clear message, nothing lost."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import UTC
from bot.commands import SUBCOMMANDS, CommandError, parse
from bot.events import ChoiceMade, CommandInvoked, Kind, WrittenAnswer
from bot.models import Member, Place
from bot.questions import load_bank, parse_bank
from bot.store import Store
from tests.conftest import DATA, FakeClock, make_engine

LEVELS = ("basic", "intermediate", "advanced", "prompt-engineering", "career")
LIVE_MENTION = re.compile(r"@(everyone|here)\b|<@!?\d+>|<!(channel|here|everyone)>|<#\w+>")
PLACE = Place("console", "local", "console")
nasty_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=2000),
    st.sampled_from(["", " ", "\n\n", "@everyone", "<!channel>", "<@123>", "<#C1>", "**bold** `code` ```x```",
                     "\x00\x1b[31m", "ｆｕｌｌ ｗｉｄｔｈ", "🦄" * 100, "a" * 50_000, "/quiz", "1", "٣"]),
    st.lists(st.sampled_from(["@everyone", "<!here>", "<@99>", "word", "\u202e", "\n", "**"]),
             max_size=40).map(" ".join),
)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    """One engine for every example of the module (Hypothesis runs each test many times in one call)."""
    store = Store.open(tmp_path_factory.mktemp("properties") / "studybot.db")
    clock = FakeClock(datetime(2026, 11, 23, 9, tzinfo=UTC))
    yield make_engine(store, load_bank(DATA / "mini_bank.yaml"), clock, reveal_after=3600), clock
    store.close()


@given(nasty_text)
@settings(max_examples=300, deadline=None)
def test_command_text_parses_or_explains(text):
    try:
        command = parse(text, LEVELS)
    except CommandError as error:
        assert str(error)
    else:
        assert command.name == "quiz" or command.name in SUBCOMMANDS  # every command the grammar knows


@given(nasty_text, st.booleans())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_command_gets_a_private_answer_and_no_crash(rig, text, admin):
    engine, _ = rig
    member = Member("console", "u-prop", "prop")
    out = engine.handle(CommandInvoked(member, PLACE, text, is_admin=admin))
    assert out
    assert all(m.kind is Kind.ROUND or m.to == member for m in out)


@given(nasty_text, nasty_text)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_written_answers_are_kept_whole_and_never_echo_live_mentions(rig, name, text):
    engine, clock = rig
    [post] = engine.rounds.post_round(PLACE, None)
    member = Member("console", "u-" + str(abs(hash(name)) % 10_000), name)
    [reply] = engine.handle(WrittenAnswer(member, text, round_id=post.round_id))
    assert reply.to == member and reply.text
    stored = engine.store.answer(post.round_id, member.user_id)
    if text.strip():
        assert stored is not None and stored.text == text.strip()
    else:
        assert stored is None and "empty" in reply.text
    engine.handle(ChoiceMade(member, 1, round_id=post.round_id))
    clock.advance(hours=2)
    out = engine.rounds.reveal(post.round_id)
    board = engine.boards.board(PLACE, "all", member.user_id)
    for message in [*out, reply]:
        assert not LIVE_MENTION.search(message.text), message.text
    assert not LIVE_MENTION.search(board)


VALID = (DATA / "mini_bank.yaml").read_text()


@given(st.integers(min_value=0, max_value=len(VALID)), st.integers(min_value=0, max_value=200), nasty_text)
@settings(max_examples=300, deadline=None)
def test_mangled_banks_are_rejected_with_lines_or_accepted(position, cut, insert):
    text = VALID[:position] + insert + VALID[position + cut:]
    bank, problems = parse_bank(text, "bank.yaml")
    if bank is None:
        assert problems and all(p.line >= 0 and p.message for p in problems)
        assert all(str(p).startswith("bank.yaml:") for p in problems)
    else:
        assert problems == [] and bank.questions


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_setup_values_never_crash(rig, text):
    engine, _ = rig
    member = Member("console", "admin", "admin")
    out = engine.handle(CommandInvoked(member, PLACE, "setup " + text, is_admin=True))
    assert out and all(m.to == member for m in out)
    settings_now = engine.settings_for("console", "local")
    assert 5 <= settings_now.reveal_after <= 7 * 86400
    assert timedelta(seconds=settings_now.reveal_after)
