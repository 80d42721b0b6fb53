"""The command line of the team features (issue 16): `studybot forget MEMBER_ID` (an unknown member gets a clear
message), `studybot export --yaml` (approved suggestions in questions.yaml's format) and reports in `studybot items`."""

from __future__ import annotations

import sqlite3

from bot.events import ChoiceMade, CommandInvoked, SuggestionSubmitted
from bot.models import Member, Place
from bot.questions import load_bank
from bot.store import Store
from tests.cli_runner import studybot
from tests.conftest import DATA, make_engine

PLACE = Place("console", "local", "console")
ALICE, BOB, CAROL = (Member("console", f"console:{n}", n) for n in ("alice", "bob", "carol"))
ENV = {"STUDYBOT_QUESTIONS": str(DATA / "mini_bank.yaml")}


def played(tmp_path, clock):
    """A database where alice, bob and carol answered a channel round and reported its question."""
    store = Store.open(tmp_path / "studybot.db")
    engine = make_engine(store, load_bank(DATA / "mini_bank.yaml"), clock, reveal_after=3600)
    [post] = engine.rounds.post_round(PLACE, None)
    for who in (ALICE, BOB, CAROL):
        engine.handle(ChoiceMade(who, 1, round_id=post.round_id))
        engine.handle(CommandInvoked(who, PLACE, "flag unclear"))
    clock.advance(hours=1)
    engine.rounds.reveal(post.round_id)
    return store, engine, post.round_id


def test_forget_a_member_from_the_command_line(tmp_path, clock):
    store, _engine, round_id = played(tmp_path, clock)
    store.close()
    unknown = studybot(tmp_path, "forget", "console:nobody", **ENV)
    assert unknown.returncode == 2
    assert "no member with id 'console:nobody'" in unknown.stderr and "nothing to delete" in unknown.stderr

    done = studybot(tmp_path, "forget", "console:alice", **ENV)
    assert done.returncode == 0, done.stderr
    assert "Deleted the personal data of member console:alice" in done.stdout and "1 answer" in done.stdout
    db = sqlite3.connect(tmp_path / "studybot.db")
    assert db.execute("SELECT COUNT(*) FROM answers WHERE user_id = 'console:alice'").fetchone() == (0,)
    assert db.execute("SELECT COUNT(*) FROM members WHERE user_id = 'console:alice'").fetchone() == (0,)
    assert db.execute("SELECT COUNT(*), COUNT(text) FROM answers WHERE round_id = ? AND name = '(deleted)'",
                      (round_id,)).fetchone() == (1, 0)
    assert db.execute("SELECT COUNT(*) FROM answers WHERE round_id = ?", (round_id,)).fetchone() == (3,)
    again = studybot(tmp_path, "forget", "console:alice", **ENV)
    assert again.returncode == 2 and "nothing to delete" in again.stderr

    by_platform = studybot(tmp_path, "forget", "console:bob", "--platform", "slack", **ENV)
    assert by_platform.returncode == 2 and "on slack" in by_platform.stderr


def test_export_yaml_writes_approved_suggestions_that_check_passes(tmp_path, clock):
    store, engine, _ = played(tmp_path, clock)
    values = {"level": "basic", "topic": "Sampling", "question": "What does the temperature change?",
              "choices": "How sharp the distribution is\nThe vocabulary\nThe context window", "correct": "1",
              "answer": "It divides the logits before the softmax.",
              "key_points": "divides the logits\nlower is sharper\nhigher is flatter"}
    [saved] = engine.handle(SuggestionSubmitted(BOB, PLACE, tuple(values.items())))
    engine.handle(CommandInvoked(ALICE, PLACE, f"suggestions approve {saved.outcome.suggestion_id}", is_admin=True))
    store.close()
    out = tmp_path / "suggested.yaml"
    result = studybot(tmp_path, "export", "--yaml", str(out), **ENV)
    assert result.returncode == 0, result.stderr
    assert "1 approved suggested question" in result.stdout
    checked = studybot(tmp_path, "check", str(out), **ENV)
    assert checked.returncode == 0, checked.stderr
    assert "suggested-1" in out.read_text() and "divides the logits" in out.read_text()

    items = studybot(tmp_path, "items", **ENV)
    assert items.returncode == 0, items.stderr
    assert "reported 3x" in items.stdout  # three members' reports, one row each in question_flags
