"""The database: pragmas, migrations applied at start exactly once, and the constraints that keep rounds honest.

Tests that take `database` or `store` run on SQLite and on PostgreSQL; the others are about SQLite files.
"""

from __future__ import annotations

import sqlite3
import threading

import pytest

from bot import migrations
from bot.db import to_pyformat
from bot.models import Place
from bot.store import Store
from tests.conftest import member

pytestmark = pytest.mark.backends("sqlite", "postgresql")

VERSIONS = [m.version for m in migrations.MIGRATIONS]
# What sqlite-utils recorded before numbered versions (m005 was taken by the dashboard's work, in versions)
LEGACY_NAMES = ["m001_core", "m002_study", "m003_open_questions", "m004_rounds_thread", "m006_claims"]


def test_migrations_are_applied_once(empty_database):
    store = Store.open(empty_database)
    assert migrations.applied(store.db) == VERSIONS
    store.close()
    again = Store.open(empty_database)  # nothing applied twice
    assert migrations.applied(again.db) == VERSIONS
    assert migrations.apply(again.db) == []
    again.close()


def test_processes_started_together_migrate_once(empty_database):
    """Four bots open one new database at the same moment: one applies each version, the others wait for it.

    (Threads, each with its own connection: the database's locks see four clients, as with four processes.)"""
    start, errors, applied_by = threading.Barrier(4), [], []

    def open_and_close() -> None:
        try:
            start.wait()
            store = Store.open(empty_database)
            applied_by.append(migrations.applied(store.db))
            store.close()
        except Exception as error:
            errors.append(error)

    workers = [threading.Thread(target=open_and_close) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == [] and applied_by == [VERSIONS] * 4
    store = Store.open(empty_database)
    rows = store.rows("SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version ORDER BY version")
    assert [(r["version"], r["n"]) for r in rows] == [(v, 1) for v in VERSIONS]
    store.close()


def test_a_failed_migration_leaves_nothing_behind(empty_database, backend, monkeypatch):
    store = Store.open(empty_database)
    store.close()
    bad = migrations.Migration(migrations.MIGRATIONS[-1].version + 1, "broken",
                               ("CREATE TABLE half_done (x INTEGER)", "CREATE TABLE no_such_syntax ("))
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, bad])
    with pytest.raises(Exception):  # noqa: B017 (each backend has its own syntax error class)
        Store.open(empty_database)
    monkeypatch.undo()
    store = Store.open(empty_database)
    assert migrations.applied(store.db) == VERSIONS
    exists = ("SELECT name FROM sqlite_master WHERE name = 'half_done'" if backend == "sqlite"
              else "SELECT to_regclass('half_done') AS name WHERE to_regclass('half_done') IS NOT NULL")
    assert store.rows(exists) == []
    store.close()


def test_pragmas(tmp_path):
    store = Store.open(tmp_path / "s.db")
    pragma = lambda name: next(iter(store.db.row(f"PRAGMA {name}").values()))  # noqa: E731
    assert pragma("journal_mode") == "wal" and pragma("foreign_keys") == 1
    assert pragma("busy_timeout") == Store.LOOP_BUSY_MS == 2000  # what the event loop may wait for a lock
    store.close()


def test_the_switch_to_wal_is_retried_while_a_sibling_holds_the_lock(tmp_path, monkeypatch):
    """On a new file, processes started together race for the exclusive lock that PRAGMA journal_mode=WAL takes,
    and SQLite fails the loser at once ("database is locked") instead of waiting: the switch is retried until
    START_BUSY_MS is out. Another error, or a lock held past that, still fails the start."""
    from bot import store as store_module
    from bot.db import SqliteDatabase

    def error(message: str, code: int) -> sqlite3.OperationalError:
        e = sqlite3.OperationalError(message)
        e.sqlite_errorcode = code
        return e

    real = SqliteDatabase.execute
    failing = {"left": 3, "error": error("database is locked", sqlite3.SQLITE_BUSY)}

    def execute(self, sql, params=()):
        if sql == "PRAGMA journal_mode=WAL" and failing["left"]:
            failing["left"] -= 1
            raise failing["error"]
        return real(self, sql, params)

    monkeypatch.setattr(SqliteDatabase, "execute", execute)
    store = Store.open(tmp_path / "a.db")
    assert failing["left"] == 0 and next(iter(store.db.row("PRAGMA journal_mode").values())) == "wal"
    store.close()

    failing["left"] = 10**6  # a sibling that never lets go
    monkeypatch.setattr(Store, "START_BUSY_MS", 200)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        Store.open(tmp_path / "b.db")

    pauses: list[float] = []
    monkeypatch.setattr(store_module.time, "sleep", pauses.append)
    failing["error"] = error("disk I/O error", sqlite3.SQLITE_IOERR)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        Store.open(tmp_path / "c.db")
    assert pauses == []  # not retried


def _legacy_database(path, applied: list[str]) -> None:
    """A database as the code before numbered versions left it: sqlite-utils' Migrations("studybot")."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE [_sqlite_migrations] ([id] INTEGER PRIMARY KEY, [migration_set] TEXT, [name] TEXT, "
                 "[applied_at] TEXT)")
    conn.execute("CREATE UNIQUE INDEX [idx__sqlite_migrations_migration_set_name] "
                 "ON [_sqlite_migrations] ([migration_set], [name])")
    for name in applied:
        step = next(m for m in migrations.MIGRATIONS if m.legacy_name == name)
        for statement in step.statements:
            conn.execute(statement)
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('studybot', ?, ?)",
                     (name, "2026-11-01 09:00:00.000000+00:00"))
    conn.close()


def test_an_older_database_is_migrated_at_start(tmp_path):
    path = tmp_path / "old.db"
    _legacy_database(path, LEGACY_NAMES[:1])
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO rounds (platform, workspace, channel, kind, question_id, level, timezone, posted_at) "
                 "VALUES ('slack', 'T1', 'C1', 'post', 'q1', 'basic', 'UTC', '2026-11-01T09:00:00.000000Z')")
    conn.commit()
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'cards'").fetchone() is None
    conn.close()
    store = Store.open(path)
    tables = {r["name"] for r in store.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"cards", "reminders"} <= tables
    assert store.round(1).question_id == "q1"  # the old data is still there
    assert migrations.applied(store.db) == VERSIONS
    store.close()
    again = Store.open(path)  # nothing applied twice
    assert migrations.applied(again.db) == VERSIONS
    again.close()


def test_a_fully_migrated_legacy_database_is_adopted_without_changes(tmp_path):
    path = tmp_path / "old.db"
    _legacy_database(path, LEGACY_NAMES)
    store = Store.open(path)  # would fail ("table workspaces already exists") if m001-m004 ran again
    assert migrations.applied(store.db) == VERSIONS
    stamps = {r["version"]: r["applied_at"] for r in store.rows("SELECT version, applied_at FROM schema_migrations")}
    assert all(stamps[int(name[1:4])] == "2026-11-01 09:00:00.000000+00:00" for name in LEGACY_NAMES)
    store.close()


def test_a_write_waits_out_a_sibling_process_short_write(tmp_path):
    store = Store.open(tmp_path / "s.db")
    sibling = sqlite3.connect(tmp_path / "s.db", isolation_level=None, check_same_thread=False)
    sibling.execute("BEGIN IMMEDIATE")  # another bot on the same file, in the middle of a write
    threading.Timer(0.2, sibling.execute, ["COMMIT"]).start()
    store.set_meta("k", "v")  # waits for the lock (up to LOOP_BUSY_MS) instead of failing
    assert store.meta("k") == "v"
    sibling.close()
    store.close()


def test_a_thread_reply_finds_its_round_through_the_thread_index(store, backend, clock):
    """A Discord thread has its own id: round_by_message looks it up by (platform, thread_id), by index."""
    place = Place("discord", "G1", "C1")
    for n in range(3):
        round_id = store.create_round(place, "post", f"q{n}", "basic", clock())
        store.set_round_message(round_id, f"m{n}", f"t{n}")
    assert store.round_by_message("discord", "t1").question_id == "q1"
    assert store.round_by_message("discord", "no-such-thread") is None
    sql = "SELECT * FROM rounds WHERE platform = ? AND thread_id = ? ORDER BY id DESC LIMIT 1"
    if backend == "sqlite":
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)  # the SQL as run, its values filled in
        store.round_by_message("discord", "t2")
        store.db.conn.set_trace_callback(None)
        assert any("thread_id =" in s for s in statements)
        plan = [row["detail"] for row in store.rows("EXPLAIN QUERY PLAN " + sql, ("discord", "t1"))]
        assert plan == ["SEARCH rounds USING INDEX rounds_thread (platform=? AND thread_id=?)"], plan  # no sort
    else:
        with store.transaction():  # three rows: the planner would scan; ask whether the index serves the query
            store.db.execute("SET LOCAL enable_seqscan = off")
            plan = "\n".join(r["QUERY PLAN"] for r in store.rows("EXPLAIN " + sql, ("discord", "t1")))
        # The index finds the thread's rows (one, in practice); PostgreSQL's index holds no id, so it sorts those
        # few, where without the index it would read the platform's every round.
        assert "Index Scan using rounds_thread" in plan and "thread_id = " in plan and "Seq Scan" not in plan, plan


def test_one_daily_round_per_channel_and_date_and_answers_need_their_round(store, clock):
    place = Place("slack", "T1", "C1")
    first = store.create_round(place, "daily", "q1", "basic", clock(), daily_date="2026-11-23")
    assert first is not None
    assert store.create_round(place, "daily", "q2", "basic", clock(), daily_date="2026-11-23") is None
    assert store.create_round(place, "daily", "q2", "basic", clock(), daily_date="2026-11-24") is not None
    assert store.create_round(place, "post", "q3", "basic", clock()) is not None  # posts are not limited
    with pytest.raises(store.db.IntegrityError):
        store.db.execute("INSERT INTO answers (round_id, platform, workspace, user_id, name, answered_at) "
                         "VALUES (999, 'slack', 'T1', 'U1', 'x', 'now')")


def test_a_rolled_back_transaction_leaves_nothing_and_nests(store, clock):
    place = Place("slack", "T1", "C1")
    with pytest.raises(RuntimeError), store.transaction():
        store.create_round(place, "post", "q1", "basic", clock())
        raise RuntimeError("boom")
    assert store.rows("SELECT id FROM rounds") == []
    with store.transaction():
        store.set_meta("outer", "1")
        with pytest.raises(RuntimeError), store.transaction():  # a savepoint: only its own work is undone
            store.set_meta("inner", "1")
            raise RuntimeError("boom")
    assert (store.meta("outer"), store.meta("inner")) == ("1", None)


def test_text_sorts_and_compares_the_same_on_both(store, clock):
    """Names sort by code point, as SQLite does, whatever the PostgreSQL server's locale; NUL cannot break a write."""
    place = Place("slack", "T1", "C1")
    names = ["alice", "Bob", "Zoë", "émile", "_x", "10", "9"]
    for n, name in enumerate(names):
        store.add_score("slack", "T1", "2026-W48", f"U{n}", name, 10, True)
    board = [s.name for s in store.standings("slack", "T1", "2026-W48", 10)]
    assert board == sorted(names)
    round_id = store.create_round(place, "post", "q1", "basic", clock())
    assert store.record_written(store.round(round_id), member("nul"), "before\x00after", clock())
    assert store.answer(round_id, member("nul").user_id).text in ("before\x00after", "before\ufffdafter")


def test_question_marks_inside_quotes_are_not_placeholders():
    assert to_pyformat("SELECT '?', \"a?\" FROM t WHERE x = ? AND y LIKE '5%'") == \
        "SELECT '?', \"a?\" FROM t WHERE x = %s AND y LIKE '5%%'"
