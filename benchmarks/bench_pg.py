"""PostgreSQL: answers ingested through the engine vs bare psycopg, and the leaderboard at scale, in one run.

Starts its own throwaway server as the tests do (tests/pg.py: PyPI's pgserver, else Debian's postgresql; or
STUDYBOT_TEST_PG_URL), with the server's default durability: fsync on, synchronous_commit on, so every answer
is on disk before it is acknowledged, on both sides.

1. Ingest. The engine: Store.open(url) -> build_engine -> engine.handle(ChoiceMade), each answer its own
   transaction (the engine commits before it acknowledges). Bare: psycopg INSERT + COMMIT of the same rows into
   the same schema (same tables, same indexes) on the same server, one connection, no engine. Target: engine
   rate >= 0.5 x the bare rate, and >= 0.5 x a bare autocommit INSERT (one round trip, as the engine's
   upsert). Interleaved repeats, median of each.
2. Leaderboard at 100,000 members and 5,000,000 answers (made by generate_series on the server): the board this
   week and all time, with the asker's own line, through the engine. Target < 50 ms; also shown at 50,000
   answers, as ranking reads the aggregates kept at each reveal and must not grow with history.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime

from common import REPO, ingest_rate, machine, median_board_seconds, scratch, verdict

sys.path.insert(0, str(REPO))  # tests/pg.py: the throwaway server

import psycopg

from bot.clock import week_of
from bot.config import Settings
from bot.engine import QuizEngine
from bot.models import Place
from bot.questions import load_bank
from bot.runtime import build_engine
from bot.store import Store
from tests import pg

ANSWERS = 3_000
REPEATS = 5  # interleaved; the medians are compared (the disk's fsync time drifts from second to second)
ROUNDS = 25
MEMBERS = 100_000
ANSWERS_PER_ROUND = 1_000
PLACE = Place("slack", "T1", "C1")
BANK = load_bank(REPO / "questions.yaml")


def engine_on(url: str, **settings) -> QuizEngine:
    charts = scratch("studybot-bench-") / "unused.db"
    return build_engine(Store.open(url), BANK, Settings(db_url=url, db_path=charts, **settings),
                        clock=lambda: datetime.now(UTC), rng=random.Random(1))


# ---- 1. ingest ---------------------------------------------------------------------------------


def open_rounds(server: pg.Server) -> tuple[QuizEngine, list[int]]:
    engine = engine_on(server.url(server.create_database("bench_ingest")), reveal_after=3600)
    return engine, [engine.rounds.post_round(PLACE, None)[0].round_id for _ in range(ROUNDS)]


def engine_rate(server: pg.Server) -> float:
    engine, rounds = open_rounds(server)
    rate = ingest_rate(engine, rounds, ANSWERS)
    engine.store.close()
    return rate


def bare_rate(server: pg.Server, autocommit: bool) -> float:
    """The same rows into the same schema with nothing but psycopg: INSERT, COMMIT (or one autocommit INSERT)."""
    engine, rounds = open_rounds(server)
    url = engine.store.db.url
    engine.store.close()
    rows = [(rounds[i % ROUNDS], "slack", "T1", f"U{i}", f"member {i}", i % 4 + 1, "2026-11-23T09:00:00.000000Z")
            for i in range(ANSWERS)]
    with psycopg.connect(url, autocommit=autocommit) as conn:
        started = time.perf_counter()
        for row in rows:
            conn.execute("INSERT INTO answers (round_id, platform, workspace, user_id, name, choice, answered_at) "
                          "VALUES (%s, %s, %s, %s, %s, %s, %s)", row)
            if not autocommit:
                conn.commit()
        elapsed = time.perf_counter() - started
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == ANSWERS
    return ANSWERS / elapsed


def ingest(server: pg.Server) -> bool:
    bares, autos, ours_runs = [], [], []
    for _ in range(REPEATS):
        bares.append(bare_rate(server, autocommit=False))
        autos.append(bare_rate(server, autocommit=True))
        ours_runs.append(engine_rate(server))
    bare, auto, ours = statistics.median(bares), statistics.median(autos), statistics.median(ours_runs)
    ratio, strict = ours / bare, ours / max(bare, auto)
    print(f"bare psycopg INSERT+COMMIT:        {bare:,.0f} answers/s")
    print(f"bare psycopg autocommit INSERT:    {auto:,.0f} answers/s (one round trip, as the engine's upsert)")
    print(f"through the engine on PostgreSQL:  {ours:,.0f} answers/s")
    print(f"ratio {ratio:.2f} vs INSERT+COMMIT, {strict:.2f} vs the faster bare way (target >= 0.5): "
          f"{verdict(strict >= 0.5)}")
    return strict >= 0.5


# ---- 2. leaderboard -------------------------------------------------------------------------------


def build_board(server: pg.Server, answers: int) -> str:
    url = server.url(server.create_database("bench_board"))
    Store.open(url).close()  # the schema, by the bot's own migrations
    rounds = max(1, answers // ANSWERS_PER_ROUND)
    week = week_of(datetime.now(UTC), "UTC")
    with psycopg.connect(url) as conn:
        conn.execute("SELECT setseed(0.3)")
        conn.execute(
            "INSERT INTO rounds (platform, workspace, channel, kind, question_id, level, timezone, posted_at, "
            "revealed_at) SELECT 'slack', 'T1', 'C1', 'daily', 'q', 'basic', 'UTC', '2026-01-01T09:00:00.000000Z', "
            "'2026-01-01T17:00:00.000000Z' FROM generate_series(1, %s)", (rounds,))
        first = conn.execute("SELECT MIN(id) FROM rounds").fetchone()[0]
        # Member (i * 7919) mod 100,000: a different member for each of a round's 1,000 answers (7919 is prime).
        conn.execute(
            "INSERT INTO answers (round_id, platform, workspace, user_id, name, choice, answered_at, correct, points) "
            "SELECT %s + i / %s, 'slack', 'T1', 'U' || (i::bigint * 7919) %% %s, "
            "'member ' || (i::bigint * 7919) %% %s, c, "
            "'2026-01-01T09:30:00.000000Z', (c = 1)::int, 10 * (c = 1)::int "
            "FROM (SELECT i, 1 + floor(random() * 4)::int AS c FROM generate_series(0, %s - 1) AS i) AS g",
            (first, ANSWERS_PER_ROUND, MEMBERS, MEMBERS, answers))
        # The aggregates the engine keeps at each reveal, for every member (most have answered by now).
        conn.execute(
            "INSERT INTO members (platform, workspace, user_id, name, points, correct, answered, streak, best_streak) "
            "SELECT 'slack', 'T1', 'U' || m, 'member ' || m, p * 10, p, p + floor(random() * 6)::int, "
            "floor(random() * 10)::int, 9 "
            "FROM (SELECT m, floor(random() * 61)::int AS p FROM generate_series(0, %s - 1) AS m) AS g", (MEMBERS,))
        conn.execute(
            "INSERT INTO scores (platform, workspace, week, user_id, name, points, correct, answered) "
            "SELECT 'slack', 'T1', %s, 'U' || m, 'member ' || m, p * 10, p, 5 "
            "FROM (SELECT m, floor(random() * 6)::int AS p FROM generate_series(0, %s - 1) AS m) AS g",
            (week, MEMBERS))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # as autovacuum would soon: statistics and the visibility map
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == answers
    return url


def time_board(url: str) -> float:
    engine = engine_on(url)
    seconds = median_board_seconds(engine, PLACE)
    engine.store.close()
    return seconds


def leaderboard(server: pg.Server) -> bool:
    small = time_board(build_board(server, 50_000))
    started = time.perf_counter()
    big_url = build_board(server, 5_000_000)
    print(f"built 5,000,000 answers and 100,000 members with generate_series in {time.perf_counter() - started:.0f} s")
    big = time_board(big_url)
    print(f"board with 100,000 members on PostgreSQL: {small * 1000:.2f} ms at 50,000 answers, "
          f"{big * 1000:.2f} ms at 5,000,000")
    print(f"< 50 ms: {verdict(big < 0.05)}; growth {big / small:.2f}x (target <= 2x): {verdict(big <= 2 * small)}")
    return big < 0.05


def main() -> None:
    print(f"machine: {machine()}")
    server = pg.start()
    try:
        with server.admin() as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            durability = [conn.execute(f"SHOW {name}").fetchone()[0] for name in ("fsync", "synchronous_commit")]
        print(f"PostgreSQL {version} ({server.how}), fsync={durability[0]}, synchronous_commit={durability[1]}")
        ingest(server)
        leaderboard(server)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
