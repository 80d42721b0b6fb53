"""Spaced repetition, reminders, team weakness in the daily pick, stats and the progress chart."""

from __future__ import annotations

import struct
from collections import Counter
from datetime import datetime, timedelta

import pytest
from fsrs import Rating

from bot.clock import UTC, parse_iso
from bot.events import ChoiceMade, CommandInvoked, Kind, WrittenAnswer
from bot.grading import grade_question
from bot.models import Place
from bot.study import rating_for, topic_weight
from tests.conftest import member

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # each test on both databases

ALICE = member("alice")


def answer_personal(engine, place, who, level, right: bool):
    [q] = engine.handle(CommandInvoked(who, place, level))
    question = engine.bank.get(engine.store.round(q.round_id).question_id)
    choice = question.correct if right else question.correct % 4 + 1
    engine.handle(ChoiceMade(who, choice, round_id=q.round_id))
    return question


def card(engine, who, question_id):
    return engine.store.row("SELECT * FROM cards WHERE user_id = ? AND question_id = ?", (who.user_id, question_id))


def test_ratings_follow_the_answer():
    assert rating_for(False, None) == Rating.Again
    assert rating_for(False, 0.4) == Rating.Hard
    assert rating_for(True, None) == Rating.Good
    assert rating_for(True, 0.9) == Rating.Easy


def test_wrong_answers_come_back_sooner_than_right_ones(engine, place, clock):
    wrong = answer_personal(engine, place, ALICE, "basic", right=False)
    right = answer_personal(engine, place, ALICE, "basic", right=True)
    due_wrong = parse_iso(card(engine, ALICE, wrong.id)["due"])
    due_right = parse_iso(card(engine, ALICE, right.id)["due"])
    assert due_wrong - clock() <= timedelta(days=1)
    assert due_right - clock() >= timedelta(days=2)
    assert due_wrong < due_right


def test_review_serves_due_cards_one_at_a_time_and_records_the_rating(engine, place, clock):
    [nothing] = engine.handle(CommandInvoked(ALICE, place, "review"))
    assert "Nothing is due" in nothing.text
    missed = answer_personal(engine, place, ALICE, "advanced", right=False)
    answer_personal(engine, place, ALICE, "advanced", right=True)
    clock.advance(days=1, minutes=1)
    note, question = engine.handle(CommandInvoked(ALICE, place, "review"))
    assert "1 question due" in note.text
    assert question.kind is Kind.PERSONAL and question.to == ALICE and "Review" in question.title
    rnd = engine.store.round(question.round_id)
    assert rnd.kind == "review" and rnd.question_id == missed.id
    engine.handle(ChoiceMade(ALICE, missed.correct, round_id=rnd.id))
    after = card(engine, ALICE, missed.id)
    assert after["reviews"] == 2 and after["last_rating"] == int(Rating.Good)
    assert parse_iso(after["due"]) > clock() + timedelta(days=1)
    [done] = engine.handle(CommandInvoked(ALICE, place, "review"))
    assert "Nothing is due" in done.text
    assert engine.store.standings("console", "local", None, 10) == []  # reviews earn no board points


def test_written_review_answer_rates_by_score(engine, place, clock):
    [q] = engine.handle(CommandInvoked(ALICE, place, "advanced"))
    question = engine.bank.get(engine.store.round(q.round_id).question_id)
    half = "; ".join(question.key_points[: len(question.key_points) // 2])
    engine.handle(WrittenAnswer(ALICE, half, round_id=q.round_id))
    expected = grade_question(half, question)
    assert card(engine, ALICE, question.id)["last_rating"] == int(rating_for(expected.passed, expected.score))
    [q] = engine.handle(CommandInvoked(ALICE, place, "advanced"))
    question = engine.bank.get(engine.store.round(q.round_id).question_id)
    engine.handle(WrittenAnswer(ALICE, "no idea, sorry", round_id=q.round_id))
    assert card(engine, ALICE, question.id)["last_rating"] == int(Rating.Again)


def test_reminders_once_a_day_only_when_opted_in_and_due(engine, place, clock):
    answer_personal(engine, place, ALICE, "basic", right=False)
    engine.workspaces.register_channel("console", "local", "console")
    clock.set(datetime(2026, 11, 24, 10, tzinfo=UTC))
    assert engine.study.due_reminders() == []  # not opted in
    [ok] = engine.handle(CommandInvoked(ALICE, place, "review remind on"))
    assert "one reminder a day" in ok.text
    [reminder] = engine.study.due_reminders()
    assert reminder.kind is Kind.REMINDER and reminder.to.user_id == ALICE.user_id and "/quiz review" in reminder.text
    assert engine.study.due_reminders() == []  # once a day
    clock.advance(days=1)
    assert len(engine.study.due_reminders()) == 1
    engine.handle(CommandInvoked(ALICE, place, "review remind off"))
    clock.advance(days=1)
    assert engine.study.due_reminders() == []
    [bad] = engine.handle(CommandInvoked(ALICE, place, "review remind maybe"))
    assert "remind on|off" in bad.text


def test_topic_weight_rule():
    assert topic_weight(0, 0) == 2.0  # unknown topic: smoothed error 0.5
    assert topic_weight(10, 10) < 1.2 and topic_weight(10, 0) > 2.8
    assert topic_weight(4, 1) > topic_weight(4, 3)


def test_daily_pick_favours_topics_the_team_misses(engine, clock):
    place = Place("console", "local", "console")
    engine.workspaces.register_channel("console", "local", "console")
    # The team always misses "Drift and monitoring" (a3) and always gets "Embeddings" (b2) right.
    for question_id, right in (("a3", False), ("b2", True)) * 6:
        history = Place("console", "local", "another-channel")  # same team, so the same weights
        rnd_id = engine.store.create_round(history, "post", question_id, "x", clock(), deadline=clock())
        rnd = engine.store.round(rnd_id)
        question = engine.bank.get(question_id)
        for who in (member("p1"), member("p2")):
            engine.store.record_choice(rnd, who, question.correct if right else question.correct % 4 + 1, clock())
        engine.rounds.reveal(rnd_id)
    weights = engine.study.topic_weights(place)
    assert weights["Drift and monitoring"] > 2.5 > weights["Tokenization"] == 2.0 > 1.5 > weights["Embeddings"]
    # Nothing was asked in the daily channel yet, so the weights alone decide among all six.
    picks = Counter()
    for day in range(300):
        clock.set(datetime(2027, 1, 1, 9, tzinfo=UTC) + timedelta(days=day))
        engine.store.db.execute("DELETE FROM rounds WHERE kind = 'daily'")
        [post] = engine.rounds.daily_round("console", "local")
        picks[engine.store.round(post.round_id).question_id] += 1
        engine.store.db.execute("DELETE FROM rounds WHERE id = ?", (post.round_id,))
    assert picks["a3"] > 1.5 * picks["b2"]


def test_daily_pick_still_never_repeats(engine, clock):
    engine.workspaces.register_channel("console", "local", "console")
    asked = []
    for day in range(6):
        clock.set(datetime(2027, 2, 1, 9, tzinfo=UTC) + timedelta(days=day))
        [post] = engine.rounds.daily_round("console", "local")
        asked.append(engine.store.round(post.round_id).question_id)
    assert sorted(asked) == sorted(q.id for q in engine.bank.questions)


def test_stats_text_and_chart(engine, place, clock):
    for level, right in (("basic", True), ("basic", False), ("advanced", False), ("advanced", False)):
        answer_personal(engine, place, ALICE, level, right)
        clock.advance(days=3)
    [stats] = engine.handle(CommandInvoked(ALICE, place, "stats"))
    assert stats.kind is Kind.STATS and stats.to == ALICE
    assert "Answered correctly: 1/4" in stats.text.replace("**", "")
    assert "basic: 1/2 (50%)" in stats.text and "advanced: 0/2 (0%)" in stats.text
    assert stats.image is None and stats.chart is not None  # drawn off the event loop, by the router
    png = stats.chart().read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1100, 480)
    assert 10_000 < len(png) < 400_000


def test_team_stats_is_for_admins(engine, place):
    [refused] = engine.handle(CommandInvoked(ALICE, place, "stats team"))
    assert "for admins" in refused.text
    [empty] = engine.handle(CommandInvoked(ALICE, place, "stats team", is_admin=True))
    assert "Not enough answers" in empty.text
