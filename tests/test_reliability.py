"""Faults under load: a SIGKILL in a burst of answers, and many restarts and racing processes at post time."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from bot.clock import UTC
from bot.models import ChannelSettings
from bot.questions import load_bank
from bot.scheduler import QuizScheduler
from bot.store import Store
from tests.conftest import REPO, FakeClock, make_engine
from tests.console_process import ConsoleProcess, console_env

MEMBERS, ROUNDS = 200, 5


def burst_script() -> list[str]:
    lines = []
    for _ in range(ROUNDS):
        lines.append("/quiz post")
        for m in range(MEMBERS):
            lines += [f"/as m{m}", str(m % 4 + 1)]
    return lines


@pytest.mark.timeout(180)
def test_sigkill_in_a_burst_of_1000_answers_loses_no_acknowledged_answer(tmp_path):
    bot = ConsoleProcess(console_env(tmp_path), tmp_path)
    bot.expect("studybot console")
    assert bot.proc.stdin is not None
    bot.proc.stdin.write("\n".join(burst_script()) + "\n")
    bot.proc.stdin.flush()
    acked: set[tuple[int, str]] = set()
    current_round, to_member = 0, None
    while len(acked) < 600:  # kill mid-burst, well after the first rounds
        line = bot.expect(r"\[round \d+\]|^\[to m\d+\]|locked in", timeout=60)
        if match := re.search(r"\[round (\d+)\]", line):
            current_round = int(match[1])
        elif match := re.match(r"\[to (m\d+)\]", line):
            to_member = match[1]
        if "is locked in" in line and to_member:
            acked.add((current_round, to_member))
    bot.kill()

    db = tmp_path / "studybot.db"
    with sqlite3.connect(db) as conn:
        stored = set(conn.execute("SELECT round_id, name FROM answers").fetchall())
        assert acked <= stored  # every acknowledged answer survived the kill
        # Everything is due now: the next start reveals every round once.
        conn.execute("UPDATE rounds SET deadline = '2000-01-01T00:00:00.000000Z'")
    for _ in range(2):  # two restarts: the second must not score anything again
        again = ConsoleProcess(console_env(tmp_path), tmp_path)
        again.expect("studybot console")
        again.drain(1.5)
        assert again.close() == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM rounds WHERE revealed_at IS NULL").fetchone()[0] == 0
        answers = dict(conn.execute("SELECT name, COUNT(*) FROM answers GROUP BY name").fetchall())
        totals = dict(conn.execute("SELECT name, answered FROM members").fetchall())
        assert answers == totals  # each answer scored exactly once
        points = conn.execute("SELECT SUM(points) FROM answers").fetchone()[0]
        assert conn.execute("SELECT SUM(points) FROM members").fetchone()[0] == points
        assert conn.execute("SELECT SUM(points) FROM scores").fetchone()[0] == points


CHANNELS = [("slack", "T1", "C1", "Europe/Berlin"), ("slack", "T2", "C2", "America/Los_Angeles"),
            ("discord", "G1", "111", "Pacific/Auckland")]


def settings_rows(store: Store, now: datetime) -> None:
    for platform, workspace, channel, tz in CHANNELS:
        store.save_workspace(ChannelSettings(platform, workspace, channel, "09:00", "*", tz, 3600, None), "setup", now)


async def restart_once(db_path, bank, moment: datetime) -> None:
    """One start of the bot's core: open the database, rebuild the schedule, catch up, fire the daily jobs."""
    store = Store.open(db_path)
    try:
        engine = make_engine(store, bank, FakeClock(moment))
        sent: list = []

        async def deliver(messages):
            sent.extend(messages)

        scheduler = QuizScheduler(engine, deliver)
        engine.events.subscribe(scheduler.on_engine_event)
        await scheduler.start()
        for platform, workspace, _, _ in CHANNELS:  # a cron job firing late, or twice
            await scheduler.daily(platform, workspace)
        scheduler.shutdown()
    finally:
        store.close()


async def test_fifty_restarts_around_post_time_give_one_daily_round_per_channel(tmp_path):
    bank = load_bank(REPO / "questions.yaml")
    db_path = tmp_path / "studybot.db"
    store = Store.open(db_path)
    settings_rows(store, datetime(2026, 11, 23, tzinfo=UTC))
    store.close()
    for i in range(50):
        # 25 restarts on each side of midnight UTC, sweeping across 09:00 in Auckland (20:00 UTC the day before)
        moment = datetime(2026, 11, 23, 19, 58, tzinfo=UTC) + timedelta(seconds=10 * i)
        await restart_once(db_path, bank, moment)
    for hour in (7, 8, 9, 17):  # the Berlin (08:00 UTC) and Los Angeles (17:00 UTC) post times, restarted around too
        for minute in (59, 0, 1, 30):
            await restart_once(db_path, bank, datetime(2026, 11, 24, hour, minute, tzinfo=UTC))
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT platform, workspace, daily_date, COUNT(*) FROM rounds WHERE kind = 'daily' "
                            "GROUP BY platform, workspace, daily_date").fetchall()
    assert all(count == 1 for *_, count in rows)
    assert {(p, w) for p, w, _, _ in rows} == {(p, w) for p, w, _, _ in CHANNELS}


RACE = """
import sys, random
from datetime import datetime, timezone
from pathlib import Path
from bot.config import Settings
from bot.questions import load_bank
from bot.runtime import build_engine
from bot.store import Store
store = Store.open(sys.argv[1])
engine = build_engine(store, load_bank(Path(sys.argv[2])), Settings(), rng=random.Random(int(sys.argv[3])),
                      clock=lambda: datetime(2026, 11, 24, 10, tzinfo=timezone.utc))
posted = 0
for _ in range(20):
    for platform, workspace in (("slack", "T1"), ("slack", "T2"), ("discord", "G1")):
        posted += len(engine.rounds.daily_round(platform, workspace))
print(posted)
"""


def test_racing_processes_post_one_daily_round_per_channel(tmp_path):
    db_path = tmp_path / "studybot.db"
    store = Store.open(db_path)
    settings_rows(store, datetime(2026, 11, 23, tzinfo=UTC))
    store.close()
    procs = [subprocess.Popen([sys.executable, "-c", RACE, str(db_path), str(REPO / "questions.yaml"), str(seed)],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for seed in range(4)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    assert sum(int(out) for out, _ in outputs) == len(CHANNELS)  # one process won each channel's round
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM rounds WHERE kind = 'daily'").fetchone()[0] == len(CHANNELS)

