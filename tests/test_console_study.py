"""Study features in the console, a real `studybot run` process: /quiz mock (plain lines, stop, a second one, a
restart), /quiz topic (fuzzy, unknown), /quiz export (the deck's path printed), /quiz broken."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from bot.questions import load_bank
from tests.conftest import REPO
from tests.console_process import ConsoleProcess, console_env

BANK = load_bank(REPO / "questions.yaml")


def _latest(tmp_path: Path, kind: str):
    with sqlite3.connect(tmp_path / "studybot.db") as conn:
        row = conn.execute("SELECT question_id FROM rounds WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)).fetchone()
    return BANK.get(row[0])


def _answer(bot: ConsoleProcess, tmp_path: Path, right: bool) -> None:
    question = _latest(tmp_path, "mock")
    if question.is_open:
        bot.send("; ".join(question.key_points) if right else "no idea")
    else:
        bot.send(str(question.correct if right else question.correct % len(question.choices) + 1))


def test_a_mock_in_the_console_start_to_report(tmp_path):
    with ConsoleProcess(console_env(tmp_path), tmp_path) as bot:
        bot.expect("studybot console")
        bot.send("/quiz mock")
        bot.expect(r"─── Mock interview · 1/5 · ")
        bot.expect(r"Answer within 1 min, by \d\d:\d\d:\d\d UTC")
        for number in range(5):
            _answer(bot, tmp_path, right=True)
            bot.expect("Right")
            if number < 4:
                bot.expect(rf"─── Mock interview · {number + 2}/5 · ")
        bot.expect("─── Mock interview report")
        bot.expect(r"Score: 5/5 \(100%\)")
        bot.expect("By topic:")
        bot.send("/quiz stats")
        bot.expect("Answered correctly: 5/5")
        bot.send("/quiz leaderboard")
        bot.expect("No points yet")  # mocks never reach the leaderboard
        assert bot.close() == 0


def test_console_mock_stop_second_mock_and_restart(tmp_path):
    env = console_env(tmp_path)
    with ConsoleProcess(env, tmp_path) as bot:
        bot.expect("studybot console")
        bot.send("/quiz mock stop")
        bot.expect("You have no mock interview open")
        bot.send("/quiz mock wizard")
        bot.expect(r"Use `/quiz mock \[level\]`")
        bot.send("/quiz mock basic")
        bot.expect(r"─── Mock interview · 1/5 · basic")
        _answer(bot, tmp_path, right=False)
        bot.expect("Not this time")
        bot.expect(r"─── Mock interview · 2/5 · ")
        bot.send("/quiz mock")
        bot.expect("already have a mock interview open")
        bot.expect("still open: this is question 2 of 5")
        bot.proc.kill()  # no clean shutdown: the mock lives in the database
        bot.proc.wait(10)
    with ConsoleProcess(env, tmp_path) as bot:
        bot.expect("studybot console")
        _answer(bot, tmp_path, right=True)  # the question asked before the restart
        bot.expect("Right")
        bot.expect(r"─── Mock interview · 3/5 · ")
        bot.send("/quiz mock stop")
        bot.expect(r"─── Mock interview report \(stopped after 3 of 5\)")
        bot.expect(r"Score: 1/3")
        bot.expect("What to look at again")
        bot.expect("Key points missed:")
        bot.expect("Model answer:")
        bot.expect("Study next:")
        bot.send("/quiz mock")
        bot.expect(r"─── Mock interview · 1/5 · ")  # a new one
        assert bot.close() == 0


def test_console_topic_export_and_broken(tmp_path):
    with ConsoleProcess(console_env(tmp_path), tmp_path) as bot:
        bot.expect("studybot console")
        bot.send("/quiz topic vector serach")
        bot.expect("─── Your question · .* · Vector search")
        bot.send("/quiz topic retrieval")
        bot.expect("No topic matches “retrieval”. Closest: .*Advanced retrieval")
        bot.send("/quiz export")
        bot.expect("no missed questions")
        question = _latest(tmp_path, "personal")
        if question.is_open:  # a miss in words
            bot.send("no idea at all")
            bot.expect("key points")
        else:
            bot.send(str(question.correct % len(question.choices) + 1))
            bot.expect("You picked")
        bot.send("/quiz export")
        bot.expect("1 missed question as an Anki deck")
        path = Path(bot.expect("File written to ").split("File written to ", 1)[1])
        assert path.parent == tmp_path and path.suffix == ".apkg" and path.stat().st_size > 0
        bot.send(f"/quiz broken {question.id} off-by-one key")
        bot.expect(re.escape(f"Marked `{question.id}` broken (off-by-one key)"))
        bot.send("/quiz broken")
        bot.expect(re.escape(f"- `{question.id}`: off-by-one key"))
        bot.send("/quiz broken not-a-question")
        bot.expect("No question has the id")
        assert bot.close() == 0
    with sqlite3.connect(tmp_path / "studybot.db") as conn:
        assert conn.execute("SELECT status FROM question_status").fetchall() == [("broken",)]
