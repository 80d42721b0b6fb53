"""Open-ended questions (no choices): answered in words only, graded against key points, opt-in for channels."""

from __future__ import annotations

import subprocess
import sys

from bot.events import ChoiceMade, CommandInvoked, Kind, WrittenAnswer
from bot.questions import load_bank
from tests.conftest import DATA, make_engine, member
from tests.console_process import console_env

ALICE, BOB = member("alice"), member("bob")
OPEN_BANK = DATA / "open_bank.yaml"


def open_engine(store, clock, **settings):
    return make_engine(store, load_bank(OPEN_BANK), clock, reveal_after=3600, **settings)


def setup(engine, place, *args):
    return engine.handle(CommandInvoked(ALICE, place, "setup " + " ".join(args), is_admin=True))


def test_the_bank_loads_open_questions():
    bank = load_bank(OPEN_BANK)
    design = bank.get("ob-sd-support-assistant")
    assert design.is_open and design.choices == () and design.correct == 0 and design.correct_text == ""
    assert not bank.get("ob-context-window").is_open


def test_channel_rounds_draw_open_questions_only_when_the_channel_opts_in(store, clock, place):
    engine = open_engine(store, clock)
    engine.workspaces.register_channel(place.platform, place.workspace, place.channel)
    drawn = set()
    for _ in range(12):  # any level: with open=off only the one multiple-choice question comes up
        [message, *_] = engine.rounds.post_round(place, None)
        drawn.add(engine.store.round(message.round_id).question_id)
    assert drawn == {"ob-context-window"}
    [message, *_] = engine.rounds.post_round(place, "system-design")  # a level of open questions alone still posts
    assert engine.bank.get(engine.store.round(message.round_id).question_id).is_open
    [shown] = setup(engine, place, "open=on")
    assert "Open-ended questions:** on" in shown.text
    assert engine.settings_for(place.platform, place.workspace).open_questions
    drawn = {engine.store.round(engine.rounds.post_round(place, "basic")[0].round_id).question_id for _ in range(20)}
    assert "ob-why-kv-cache" in drawn
    [bad] = setup(engine, place, "open=maybe")
    assert "open" in bad.text and "not on or off" in bad.text


def test_an_open_channel_round_is_answered_in_words_and_revealed_with_key_points(store, clock, place):
    engine = open_engine(store, clock)
    [message, *_] = engine.rounds.post_round(place, "system-design")
    question = engine.bank.get(engine.store.round(message.round_id).question_id)
    engine.rounds.round_posted(message.round_id, "msg-1", None)
    assert message.choices == () and question.question in message.text and "own words" in message.text
    [note] = engine.handle(ChoiceMade(ALICE, 1, round_id=message.round_id))
    assert "open-ended" in note.text and engine.store.answer(message.round_id, ALICE.user_id) is None
    assert engine.handle(ChoiceMade(ALICE, 1, message_id="m")) == []  # a stray reaction is ignored
    engine.handle(WrittenAnswer(ALICE, question.answer, round_id=message.round_id))
    engine.handle(WrittenAnswer(BOB, "I would buy more GPUs and hope for the best.", round_id=message.round_id))
    clock.advance(hours=2)
    out = engine.rounds.reveal(message.round_id)
    [reveal] = [m for m in out if m.kind is Kind.REVEAL]
    assert "**Model answer**" in reveal.text and "Picks" not in reveal.text and "Answer: 0" not in reveal.text
    assert "**Key points:**" in reveal.text
    assert f"bob: 0/{len(question.key_points)} key points (missed: " in reveal.text  # misses shown even at 0
    alice, bob = (engine.store.answer(message.round_id, m.user_id) for m in (ALICE, BOB))
    assert alice.correct and alice.points > 0 and not bob.correct and bob.points == 0
    [closed] = [m for m in out if m.kind is Kind.CLOSED]
    assert "model answer and the key points are in the thread" in closed.text
    feedback = {m.to.user_id: m.text for m in out if m.kind is Kind.FEEDBACK}
    assert "Missed" in feedback[BOB.user_id]


def test_a_personal_open_question_is_graded_at_once(store, clock, place):
    engine = open_engine(store, clock)
    out = engine.handle(CommandInvoked(ALICE, place, "system-design"))
    [question_message] = [m for m in out if m.kind is Kind.PERSONAL]
    assert question_message.choices == () and "Pick a number" not in question_message.text
    [feedback] = engine.handle(WrittenAnswer(ALICE, "No idea.", round_id=question_message.round_id))
    assert "key points" in feedback.text and "Model answer" in feedback.text


def test_console_plays_an_open_question(tmp_path):
    env = console_env(tmp_path, STUDYBOT_QUESTIONS=str(OPEN_BANK))
    script = ("/quiz system-design\nRoute easy requests to a smaller model, cache repeated prompts and prefixes, "
              "evaluate quality per route, and batch requests on the server.\n/quiz help\n")
    result = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, input=script,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Your question · system-design" in out and "own words" in out
    assert "1." not in out.split("Your question")[1][:200]
    assert "key points" in out and "Model answer" in out
    assert "system-design" in out.split("studybot help")[1]  # the level is listed in the help
