"""/quiz topic (fuzzy, unknown) and /quiz broken in the console, a real `studybot run` process."""

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





def test_console_topic_and_broken(tmp_path):
    with ConsoleProcess(console_env(tmp_path), tmp_path) as bot:
        bot.expect("studybot console")
        bot.send("/quiz topic vector serach")
        bot.expect("─── Your question · .* · Vector search")
        bot.send("/quiz topic retrieval")
        bot.expect("No topic matches “retrieval”. Closest: .*Advanced retrieval")
        question = _latest(tmp_path, "personal")
        bot.send(f"/quiz broken {question.id} off-by-one key")
        bot.expect(re.escape(f"Marked `{question.id}` broken (off-by-one key)"))
        bot.send("/quiz broken")
        bot.expect(re.escape(f"- `{question.id}`: off-by-one key"))
        bot.send("/quiz broken not-a-question")
        bot.expect("No question has the id")
        assert bot.close() == 0
    with sqlite3.connect(tmp_path / "studybot.db") as conn:
        assert conn.execute("SELECT status FROM question_status").fetchall() == [("broken",)]
