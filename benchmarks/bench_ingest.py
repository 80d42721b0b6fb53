"""Answer ingestion: through the engine vs bare sqlite3 INSERT + COMMIT of the same rows, in one run.

Both write into the bot's own schema (same table, same indexes, same pragmas), so the ratio is the
engine's overhead: looking up the round, the rules, the upsert that locks the first pick, the reply.

Target: engine rate >= 0.5 x the bare rate, and >= 2,000 answers/s.
Each answer is its own transaction in both cases (the engine commits before it acknowledges).
"""

from __future__ import annotations

import sqlite3
import time

from common import fresh_engine, ingest_rate, machine, verdict

from bot.models import Place

ANSWERS = 5_000
ROUNDS = 25


def engine_rate() -> float:
    engine = fresh_engine(reveal_after=3600)
    place = Place("slack", "T1", "C1")
    rounds = [engine.rounds.post_round(place, None)[0].round_id for _ in range(ROUNDS)]
    return ingest_rate(engine, rounds, ANSWERS)


def bare_rate() -> float:
    """The same rows into the same schema (the bot's own tables and indexes), with nothing but sqlite3."""
    engine = fresh_engine(reveal_after=3600)
    place = Place("slack", "T1", "C1")
    rounds = [engine.rounds.post_round(place, None)[0].round_id for _ in range(ROUNDS)]
    path = engine.store.path
    engine.store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    rows = [(rounds[i % ROUNDS], "slack", "T1", f"U{i}", f"member {i}", i % 4 + 1, "2026-11-23T09:00:00.000000Z")
            for i in range(ANSWERS)]
    started = time.perf_counter()
    for row in rows:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO answers (round_id, platform, workspace, user_id, name, choice, answered_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == ANSWERS
    return ANSWERS / elapsed


def main() -> None:
    # Interleaved repeats, median of each: the disk's mood changes from second to second.
    bares, ours_runs = [], []
    for _ in range(3):
        bares.append(bare_rate())
        ours_runs.append(engine_rate())
    bare, ours = sorted(bares)[1], sorted(ours_runs)[1]
    ratio = ours / bare
    print(f"machine: {machine()}")
    print(f"bare sqlite3 INSERT+COMMIT: {bare:,.0f} answers/s")
    print(f"through the engine:         {ours:,.0f} answers/s")
    print(f"ratio {ratio:.2f} (target >= 0.5): {verdict(ratio >= 0.5)}; "
          f"rate (target >= 2,000/s): {verdict(ours >= 2000)}")


if __name__ == "__main__":
    main()
