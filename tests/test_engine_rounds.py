"""Channel and personal rounds through the engine, on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import pytest

from bot.clock import iso
from bot.events import ChoiceMade, CommandInvoked, Kind, WrittenAnswer
from bot.grading import verdict_for
from tests.conftest import member

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # each test on both databases

ALICE, BOB, CAROL = member("alice"), member("bob"), member("carol")


def post(engine, place, level=None):
    [message] = engine.rounds.post_round(place, level)
    assert message.kind is Kind.ROUND
    return message


def answer(engine, who, choice, message):
    return engine.handle(ChoiceMade(who, choice, round_id=message.round_id))


def test_round_post_has_question_choices_and_deadline(engine, place, clock):
    message = post(engine, place, "basic")
    question = engine.bank.get(engine.store.round(message.round_id).question_id)
    assert question.level == "basic"
    assert message.choices == question.choices
    assert question.question in message.text
    assert message.deadline == clock.advance(seconds=0) + __import__("datetime").timedelta(hours=1)


def test_first_choice_locks_in_and_later_ones_change_nothing(engine, place):
    message = post(engine, place)
    [note] = answer(engine, ALICE, 2, message)
    assert "locked in" in note.text and note.to == ALICE
    [again] = answer(engine, ALICE, 3, message)
    assert "first answer (2)" in again.text
    stored = engine.store.answer(message.round_id, ALICE.user_id)
    assert stored.choice == 2
    assert len(engine.store.answers(message.round_id)) == 1


def test_reactions_by_message_id_and_foreign_reactions(engine, place):
    message = post(engine, place)
    engine.rounds.round_posted(message.round_id, "msg-1", None)
    assert engine.handle(ChoiceMade(ALICE, 1, message_id="msg-1"))
    assert engine.handle(ChoiceMade(BOB, 1, message_id="some-other-message")) == []
    assert engine.handle(ChoiceMade(BOB, 9, message_id="msg-1")) == []  # not a choice reaction
    assert engine.store.answer(message.round_id, BOB.user_id) is None


def test_answers_after_deadline_or_reveal_are_refused(engine, place, clock):
    message = post(engine, place)
    clock.advance(hours=1)
    [late] = answer(engine, ALICE, 1, message)
    assert "closed" in late.text
    engine.rounds.reveal(message.round_id)
    [after] = engine.handle(WrittenAnswer(BOB, "self-attention", round_id=message.round_id))
    assert "closed" in after.text
    assert engine.store.answers(message.round_id) == []


def test_reveal_tallies_scores_and_runs_once(engine, place, clock):
    message = post(engine, place, "advanced")
    question = engine.bank.get(engine.store.round(message.round_id).question_id)
    wrong = 1 if question.correct != 1 else 3
    answer(engine, ALICE, question.correct, message)
    answer(engine, BOB, wrong, message)
    answer(engine, CAROL, question.correct, message)
    clock.advance(hours=1)
    out = engine.rounds.reveal(message.round_id)
    reveal = next(m for m in out if m.kind is Kind.REVEAL)
    assert f"Answer: {question.correct}." in reveal.text
    assert f"{question.correct}: 2" in reveal.text and f"{wrong}: 1" in reveal.text
    assert "alice" in reveal.text and "carol" in reveal.text
    assert "alice +10" in reveal.text and "bob +" not in reveal.text
    assert engine.rounds.reveal(message.round_id) == []  # exactly once
    board = engine.store.standings("console", "local", "2026-11-23", 10)
    assert [(s.name, s.points, s.rank) for s in board] == [("alice", 10, 1), ("carol", 10, 1), ("bob", 0, 3)]


def test_written_answer_is_stored_whole_and_graded_at_reveal(engine, place, clock):
    message = post(engine, place, "advanced")
    question = engine.bank.get(engine.store.round(message.round_id).question_id)
    text = " and ".join(question.key_points) + ". " + "x" * 30_000
    [note] = engine.handle(WrittenAnswer(ALICE, text, round_id=message.round_id))
    assert "graded" in note.text
    assert engine.store.answer(message.round_id, ALICE.user_id).text == text.strip()
    clock.advance(hours=2)
    out = engine.rounds.reveal(message.round_id)
    stored = engine.store.answer(message.round_id, ALICE.user_id)
    assert stored.score == 1.0 and stored.points == 10 and stored.correct
    feedback = [m for m in out if m.kind is Kind.FEEDBACK]
    assert feedback and feedback[0].to.user_id == ALICE.user_id and "Covered" in feedback[0].text


def test_pick_and_written_answer_add_up(engine, place, clock):
    message = post(engine, place, "advanced")
    question = engine.bank.get(engine.store.round(message.round_id).question_id)
    answer(engine, ALICE, question.correct, message)
    engine.handle(WrittenAnswer(ALICE, question.key_points[0], round_id=message.round_id))
    clock.advance(hours=1)
    [reveal] = [m for m in engine.rounds.reveal(message.round_id) if m.kind is Kind.REVEAL]
    stored = engine.store.answer(message.round_id, ALICE.user_id)
    missed = [p for p, ok in zip(question.key_points, stored.found, strict=False) if not ok]
    assert stored.found[0] and missed  # the reveal names what the written answer missed, for everyone to learn
    made = f"{sum(stored.found)}/{len(question.key_points)}"
    # a good verdict: what the grader did not find is "not recognised", not "missed" (often it was said)
    assert verdict_for(stored.score) == "good"
    assert f"alice: {made} key points (not recognised: {'; '.join(missed)})" in reveal.text
    expected_written = round(10 * stored.score)
    assert expected_written > 0  # a right pick and a right key point: written points on top of the pick's 10
    assert stored.points == 10 + expected_written


def test_empty_and_duplicate_written_answers(engine, place):
    message = post(engine, place)
    [empty] = engine.handle(WrittenAnswer(ALICE, "   \n ", round_id=message.round_id))
    assert "empty" in empty.text
    engine.handle(WrittenAnswer(ALICE, "first", round_id=message.round_id))
    [dup] = engine.handle(WrittenAnswer(ALICE, "second", round_id=message.round_id))
    assert "first one counts" in dup.text
    assert engine.store.answer(message.round_id, ALICE.user_id).text == "first"


def test_personal_round_gives_feedback_at_once_and_no_leaderboard_points(engine, place):
    [question_message] = engine.handle(CommandInvoked(ALICE, place, "advanced"))
    assert question_message.kind is Kind.PERSONAL and question_message.to == ALICE
    rnd = engine.store.round(question_message.round_id)
    question = engine.bank.get(rnd.question_id)
    assert question.level == "advanced"
    [feedback] = engine.handle(ChoiceMade(ALICE, question.correct, round_id=rnd.id))
    assert "Right" in feedback.text and question.answer.strip()[:40] in feedback.text
    assert engine.store.standings("console", "local", None, 10) == []
    [again] = engine.handle(ChoiceMade(ALICE, 1, round_id=rnd.id))
    assert "already answered" in again.text
    [other] = engine.handle(ChoiceMade(BOB, 1, round_id=rnd.id))
    assert "someone else's" in other.text


def test_personal_written_answer_graded_at_once(engine, place):
    [q] = engine.handle(CommandInvoked(ALICE, place, "basic"))
    question = engine.bank.get(engine.store.round(q.round_id).question_id)
    [feedback] = engine.handle(WrittenAnswer(ALICE, "; ".join(question.key_points), round_id=q.round_id))
    assert "made 3 of 3 key points" in feedback.text
    assert engine.store.answer(q.round_id, ALICE.user_id).correct is True


def test_commands_bad_input_gets_private_message_listing_valid_ones(engine, place):
    for text in ("expert", "post nonsense", "leaderboard month", "x" * 10_000, "\x00\x07bad"):
        [reply] = engine.handle(CommandInvoked(ALICE, place, text, is_admin=True))
        assert reply.to == ALICE
        assert "basic" in reply.text or "leaderboard" in reply.text or "characters" in reply.text


def test_admin_only_commands(engine, place):
    [reply] = engine.handle(CommandInvoked(ALICE, place, "post"))
    assert "for admins" in reply.text
    out = engine.handle(CommandInvoked(ALICE, place, "post basic", is_admin=True))
    assert [m.kind for m in out] == [Kind.ROUND, Kind.NOTICE]


def test_notice_shown_to_admin_once(engine, place):
    engine.report_problem("console", "local", "Missing permission: Send Messages in #quiz")
    out = engine.handle(CommandInvoked(ALICE, place, "help", is_admin=True))
    assert "Missing permission" in out[0].text
    out = engine.handle(CommandInvoked(ALICE, place, "help", is_admin=True))
    assert all("Missing permission" not in m.text for m in out)


def test_mentions_in_names_and_answers_are_never_live(engine, place, clock):
    sneaky = member("@everyone <!channel> <@123>")
    message = post(engine, place)
    question = engine.bank.get(engine.store.round(message.round_id).question_id)
    answer(engine, sneaky, question.correct, message)
    clock.advance(hours=1)
    text = "\n".join(m.text for m in engine.rounds.reveal(message.round_id))
    assert "@everyone" not in text and "<!channel>" not in text and "<@123>" not in text
    assert "@\u200beveryone" in text


def test_an_answer_after_another_replica_claimed_the_reveal_is_refused(engine, place, clock):
    """Another replica closed the round between this one's deadline check and its write: the write checks too."""
    message = post(engine, place)
    engine.store.round(message.round_id)  # this replica has the round in its cache, open
    engine.store.db.execute("UPDATE rounds SET revealed_at = ? WHERE id = ?",  # another process's claim: no cache
                            (iso(clock()), message.round_id))
    [choice] = answer(engine, ALICE, 1, message)
    [written] = engine.handle(WrittenAnswer(BOB, "self-attention", round_id=message.round_id))
    assert "closed" in choice.text and "closed" in written.text
    assert engine.store.answers(message.round_id) == []
