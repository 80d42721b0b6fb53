"""Kill the bot with SIGKILL mid-round and start it again: nothing lost, nothing twice."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

import pytest

from tests.console_process import ConsoleProcess, console_env


def query(tmp_path, sql):
    with sqlite3.connect(tmp_path / "studybot.db") as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.long_wait
def test_sigkill_after_answers_then_restart_reveals_once(tmp_path):
    now = datetime.now(UTC)
    env = console_env(tmp_path, STUDYBOT_DAILY_AT=f"{now:%H:%M}", STUDYBOT_DAILY_DAYS="*",
                      STUDYBOT_REVEAL_AFTER="3s")
    first = ConsoleProcess(env, tmp_path)
    first.expect("Question of the day", timeout=30)  # the day's round, caught up at start
    first.send("/as alice")
    first.send("1")
    first.expect("locked in")
    first.send("/as bob")
    first.send("self-attention relates every token to every other token")
    first.expect("Saved your written answer")
    first.kill()

    rounds = query(tmp_path, "SELECT id, kind, daily_date, revealed_at FROM rounds")
    assert len(rounds) == 1 and rounds[0][1] == "daily" and rounds[0][3] is None
    assert sorted(query(tmp_path, "SELECT name FROM answers")) == [("alice",), ("bob",)]

    [(deadline,)] = query(tmp_path, "SELECT deadline FROM rounds")
    time.sleep(max(0.0, (datetime.fromisoformat(deadline) - datetime.now(UTC)).total_seconds() + 0.3))
    # now past the deadline, while the bot is down
    second = ConsoleProcess(env, tmp_path)
    second.expect("─── Answer", timeout=30)
    second.drain(1.0)
    assert second.close() == 0
    assert sum("─── Answer" in line for line in second.seen) == 1
    assert not any("Question of the day" in line for line in second.seen)

    third = ConsoleProcess(env, tmp_path)
    third.expect("studybot console")
    third.drain(1.0)
    assert third.close() == 0
    assert not any("─── Answer" in line or "Question of the day" in line for line in third.seen)

    assert len(query(tmp_path, "SELECT id FROM rounds WHERE kind = 'daily'")) == 1
    assert query(tmp_path, "SELECT COUNT(*) FROM rounds WHERE revealed_at IS NOT NULL") == [(1,)]
    scores = query(tmp_path, "SELECT name, answered FROM members ORDER BY name")
    assert scores == [("alice", 1), ("bob", 1)]  # scored once each, not once per start
