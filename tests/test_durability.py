"""Kill the bot with SIGKILL mid-round and start it again: nothing lost, nothing twice."""

from __future__ import annotations

import socket
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


@pytest.mark.long_wait
def test_end_of_input_while_the_judge_is_grading_a_reveal_exits_cleanly_and_the_next_start_reveals(tmp_path):
    """A reveal waiting for a judge that never answers is given a moment, then cancelled before the database
    closes: no traceback, its lease released, and the next start reveals the round."""
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        judge = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        env = console_env(tmp_path, STUDYBOT_REVEAL_AFTER="2s", STUDYBOT_JUDGE_URL=judge,
                          STUDYBOT_JUDGE_MODEL="m")
        first = ConsoleProcess(env, tmp_path)
        first.expect("studybot console")
        first.send("/quiz post basic")
        first.expect("Posted a new round")
        first.send("/as bob")
        first.send("it splits rare words into known subword pieces")
        first.expect("Saved your written answer")
        waited = time.monotonic() + 30
        while not query(tmp_path, "SELECT key FROM claims") and time.monotonic() < waited:
            time.sleep(0.1)  # the deadline (2 s) passes and the reveal job claims the round
        assert query(tmp_path, "SELECT key FROM claims") == [("reveal:1",)]  # the reveal is waiting for the judge
        assert first.close() == 0
        errors = first.proc.stderr.read()
        assert "Traceback" not in errors and "closed database" not in errors
        assert "cancelled" in errors  # the log says the reveal will run again
    assert query(tmp_path, "SELECT key FROM claims") == []
    assert query(tmp_path, "SELECT revealed_at FROM rounds") == [(None,)]

    second = ConsoleProcess(console_env(tmp_path, STUDYBOT_REVEAL_AFTER="2s"), tmp_path)  # judge unset now
    second.expect("─── Answer", timeout=30)
    second.expect("key points")
    assert second.close() == 0
    assert query(tmp_path, "SELECT COUNT(*) FROM rounds WHERE revealed_at IS NOT NULL") == [(1,)]
