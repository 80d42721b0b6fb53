"""The SQLite file: pragmas, migrations applied at start, and the constraints that keep rounds honest."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlite_utils import Database

from bot.migrations import migrations
from bot.models import Place
from bot.store import Store

MIGRATIONS = ["m001_core", "m002_study", "m003_open_questions", "m004_rounds_thread", "m006_claims"]


def test_pragmas_and_migrations(tmp_path):
    store = Store.open(tmp_path / "s.db")
    pragma = lambda name: store.db.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal" and pragma("foreign_keys") == 1
    assert pragma("busy_timeout") == Store.LOOP_BUSY_MS == 2000  # what the event loop may wait for a lock
    assert [m.name for m in migrations.applied(store.db)] == MIGRATIONS
    store.close()


def test_an_older_database_is_migrated_at_start(tmp_path):
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path))
    migrations.apply(old, stop_before="m002_study")
    assert not old["cards"].exists()
    old.close()
    store = Store.open(path)
    assert store.db["cards"].exists() and store.db["reminders"].exists()
    store.close()
    again = Store.open(path)  # nothing applied twice
    assert len(migrations.applied(again.db)) == len(MIGRATIONS)
    again.close()


def test_a_write_waits_out_a_sibling_process_short_write(tmp_path):
    store = Store.open(tmp_path / "s.db")
    sibling = sqlite3.connect(tmp_path / "s.db", isolation_level=None, check_same_thread=False)
    sibling.execute("BEGIN IMMEDIATE")  # another bot on the same file, in the middle of a write
    threading.Timer(0.2, sibling.execute, ["COMMIT"]).start()
    store.set_meta("k", "v")  # waits for the lock (up to LOOP_BUSY_MS) instead of failing
    assert store.meta("k") == "v"
    sibling.close()
    store.close()


def test_a_thread_reply_finds_its_round_through_the_thread_index(tmp_path, clock):
    """A Discord thread has its own id: round_by_message looks it up by (platform, thread_id), by index."""
    store = Store.open(tmp_path / "s.db")
    place = Place("discord", "G1", "C1")
    for n in range(3):
        round_id = store.create_round(place, "post", f"q{n}", "basic", clock())
        store.set_round_message(round_id, f"m{n}", f"t{n}")
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)  # the SQL as run, its values filled in
    assert store.round_by_message("discord", "t1").question_id == "q1"
    assert store.round_by_message("discord", "no-such-thread") is None
    store.db.conn.set_trace_callback(None)
    by_thread = [sql for sql in statements if "thread_id =" in sql]
    assert len(by_thread) == 2
    for sql in by_thread:
        plan = [row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
        assert plan == ["SEARCH rounds USING INDEX rounds_thread (platform=? AND thread_id=?)"], plan  # no sort
    store.close()


def test_one_daily_round_per_channel_and_date_and_answers_need_their_round(tmp_path, clock):
    store = Store.open(tmp_path / "s.db")
    place = Place("slack", "T1", "C1")
    first = store.create_round(place, "daily", "q1", "basic", clock(), daily_date="2026-11-23")
    assert first is not None
    assert store.create_round(place, "daily", "q2", "basic", clock(), daily_date="2026-11-23") is None
    assert store.create_round(place, "daily", "q2", "basic", clock(), daily_date="2026-11-24") is not None
    assert store.create_round(place, "post", "q3", "basic", clock()) is not None  # posts are not limited
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute("INSERT INTO answers (round_id, platform, workspace, user_id, name, answered_at) "
                         "VALUES (999, 'slack', 'T1', 'U1', 'x', 'now')")
    store.close()
