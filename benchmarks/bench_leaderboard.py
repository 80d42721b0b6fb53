"""Leaderboard with 100,000 members and 5,000,000 answers.

Targets: the board (this week and all time, with the asker's own line) in < 50 ms, and at most 2x its
time with the same members and only 50,000 answers: ranking reads the per-week and all-time
aggregates kept at each reveal, so its cost must not grow with history.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

from common import fresh_engine, machine, median_board_seconds, scratch, verdict

from bot.clock import week_of
from bot.models import Place

MEMBERS = 100_000
ANSWERS_PER_ROUND = 1_000
PLACE = Place("slack", "T1", "C1")


def build(answers: int) -> Path:
    directory = scratch("studybot-board-")
    engine = fresh_engine(directory)
    db = directory / "bench.db"
    engine.store.close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous=OFF")
    rng = random.Random(3)
    rounds = max(1, answers // ANSWERS_PER_ROUND)
    week = week_of(__import__("datetime").datetime.now(__import__("datetime").timezone.utc), "UTC")
    with conn:
        conn.executemany(
            "INSERT INTO rounds (id, platform, workspace, channel, kind, question_id, level, timezone, posted_at, "
            "revealed_at) VALUES (?, 'slack', 'T1', 'C1', 'daily', 'q', 'basic', 'UTC', '2026-01-01T09:00:00.000000Z', "
            "'2026-01-01T17:00:00.000000Z')", ((r,) for r in range(1, rounds + 1)))
        conn.executemany(
            "INSERT INTO answers (round_id, platform, workspace, user_id, name, choice, answered_at, correct, points) "
            "VALUES (?, 'slack', 'T1', ?, ?, ?, '2026-01-01T09:30:00.000000Z', ?, ?)",
            ((i // ANSWERS_PER_ROUND + 1, f"U{(i * 7919) % MEMBERS}", f"member {(i * 7919) % MEMBERS}",
              c, int(c == 1), 10 * int(c == 1)) for i in range(answers) for c in [rng.randint(1, 4)]))
        # The aggregates the engine keeps at each reveal, for every member (most have answered by now).
        conn.executemany(
            "INSERT INTO members (platform, workspace, user_id, name, points, correct, answered, streak, best_streak) "
            "VALUES ('slack', 'T1', ?, ?, ?, ?, ?, ?, ?)",
            ((f"U{m}", f"member {m}", p * 10, p, p + rng.randint(0, 5), rng.randint(0, 9), 9)
             for m in range(MEMBERS) for p in [rng.randint(0, 60)]))
        conn.executemany(
            "INSERT INTO scores (platform, workspace, week, user_id, name, points, correct, answered) "
            "VALUES ('slack', 'T1', ?, ?, ?, ?, ?, ?)",
            ((week, f"U{m}", f"member {m}", p * 10, p, 5) for m in range(MEMBERS) for p in [rng.randint(0, 5)]))
    conn.execute("ANALYZE")
    conn.close()
    return directory


def time_board(directory: Path) -> float:
    return median_board_seconds(fresh_engine(directory), PLACE)


def main() -> None:
    print(f"machine: {machine()}")
    small = time_board(build(50_000))
    started = time.perf_counter()
    big_dir = build(5_000_000)
    print(f"built 5,000,000 answers in {time.perf_counter() - started:.0f} s")
    big = time_board(big_dir)
    print(f"board with 100,000 members: {small * 1000:.2f} ms at 50,000 answers, {big * 1000:.2f} ms at 5,000,000")
    print(f"< 50 ms: {verdict(big < 0.05)}; growth {big / small:.2f}x (target <= 2x): {verdict(big <= 2 * small)}")


if __name__ == "__main__":
    main()
