"""The console adapter end to end: a real `studybot run` process driven through stdin and stdout."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.questions import load_bank
from tests.conftest import DATA, REPO
from tests.console_process import ConsoleProcess, console_env


def test_round_end_to_end_with_three_members(tmp_path):
    with ConsoleProcess(console_env(tmp_path, STUDYBOT_REVEAL_AFTER="3s"), tmp_path) as bot:
        bot.expect("studybot console")
        bot.send("/quiz post advanced")
        header = bot.expect(r"─── Quiz · advanced · .*\[round (\d+)\]")
        round_id = int(header.rsplit("[round ", 1)[1].rstrip("]"))
        bot.expect("Answer with a number from 1 to 4")
        question_id = _db_value(tmp_path, "SELECT question_id FROM rounds WHERE id = ?", round_id)
        question = load_bank(REPO / "questions.yaml").get(question_id)
        wrong = question.correct % 4 + 1
        bot.send("/as alice")
        bot.send(str(question.correct))
        bot.expect(f"Your answer {question.correct} is locked in")
        bot.send(str(wrong))
        bot.expect(f"first answer \\({question.correct}\\) is locked in")
        bot.send("/as bob")
        bot.send(str(wrong))
        bot.expect("locked in")
        bot.send("/as carol")
        bot.send("; ".join(question.key_points))
        bot.expect("Saved your written answer")
        bot.send("/wait 3.5")
        bot.expect(rf"Answer: {question.correct}\. ", timeout=15)
        bot.expect("carol: .* key points")
        bot.expect("Covered:")
        bot.send("/quiz leaderboard")
        bot.expect("Leaderboard: this week")
        ranking = [bot.expect(r"^\s+\d+\s+\w+") for _ in range(3)]
        assert ranking[0].split()[:3] == ["1", "alice", "10"] or ranking[0].split()[:3] == ["1", "carol", "10"]
        assert any(line.split()[1] == "bob" and line.split()[2] == "0" for line in ranking)
        bot.send("/quiz stats")
        bot.expect("Answered correctly: 1/1")
        chart = bot.expect("Chart written to").split("Chart written to ", 1)[1]
        assert Path(chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert bot.close() == 0
    assert _db_value(tmp_path, "SELECT COUNT(*) FROM answers WHERE round_id = ?", round_id) == 3


def test_personal_question_and_help(tmp_path):
    with ConsoleProcess(console_env(tmp_path), tmp_path) as bot:
        bot.expect("studybot console")
        bot.send("/quiz career")
        bot.expect("Your question · career")
        how = bot.expect("(Pick a number|Open-ended: answer in your own words)")
        if how.startswith("Open-ended"):  # the career level mixes both kinds
            bot.send("I would state the problem, the measurable outcome and what I learned.")
            bot.expect("key points")
        else:
            bot.send("2")
            bot.expect("(Right|You picked 2)")
        bot.expect("Model answer")
        bot.send("/quiz help")
        bot.expect("/quiz leaderboard")
        assert bot.close() == 0


def test_bad_input_gets_a_message_and_no_crash(tmp_path):
    # The small bank: its basic questions all have four choices (a shipped basic one may be open-ended).
    with ConsoleProcess(console_env(tmp_path, STUDYBOT_QUESTIONS=str(DATA / "mini_bank.yaml")), tmp_path) as bot:
        bot.expect("studybot console")
        bot.send("/frobnicate")
        bot.expect("Unknown command /frobnicate")
        bot.send("/quiz wizard")
        bot.expect("Unknown level or subcommand `wizard`. Valid levels: basic")
        bot.send("")
        bot.expect("empty line")
        bot.send("3")
        bot.expect("No question is open for you")
        bot.send("/quiz basic")
        bot.expect("Your question · basic")
        bot.send("9")
        bot.expect("Pick a number from 1 to 4")
        bot.send("x" * 10_000)
        bot.expect("made 0 of")  # a 10,000-character written answer is graded, not refused
        bot.send("/quiz basic")
        bot.expect("Your question · basic")
        bot.send("control \x1b[31m \x07 \x00 characters")
        bot.expect("key points")
        bot.send("/quiz " + "y" * 10_000)
        bot.expect("characters long")
        bot.send("/as ")
        bot.expect("Use `/as NAME`")
        bot.send("/wait soon")
        bot.expect("Use `/wait SECONDS`")
        bot.send("/quiz setup time=25:99")
        bot.expect("time: '25:99' is not a time of day")
        bot.send("/quiz help")
        bot.expect("studybot help")
        assert bot.close() == 0
    assert all("\x1b" not in line for line in bot.seen)
    texts = _db_rows(tmp_path, "SELECT text FROM answers WHERE text IS NOT NULL ORDER BY id")
    assert texts[0] == "x" * 10_000  # stored whole


def _db_value(tmp_path, sql, *params):
    with sqlite3.connect(tmp_path / "studybot.db") as conn:
        return conn.execute(sql, params).fetchone()[0]


def _db_rows(tmp_path, sql, *params):
    with sqlite3.connect(tmp_path / "studybot.db") as conn:
        return [r[0] for r in conn.execute(sql, params)]
