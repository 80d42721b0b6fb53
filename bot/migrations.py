"""The database schema, as an ordered list of migrations applied at start.

Timestamps are UTC ISO-8601 text of one fixed width (see bot.clock.iso), so
they compare correctly as strings in SQL.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("studybot")


def _run(db: Database, *statements: str) -> None:
    for statement in statements:
        db.execute(statement)


@migrations()
def m001_core(db: Database) -> None:
    _run(
        db,
        # Per server/workspace settings: env defaults until /quiz setup changes them.
        """CREATE TABLE workspaces (
            platform TEXT NOT NULL, workspace TEXT NOT NULL,
            channel TEXT, daily_at TEXT, days TEXT NOT NULL, timezone TEXT NOT NULL,
            reveal_after INTEGER NOT NULL, weekly_at TEXT, hidden_votes INTEGER NOT NULL DEFAULT 0,
            source TEXT NOT NULL DEFAULT 'env', updated_at TEXT NOT NULL,
            PRIMARY KEY (platform, workspace))""",
        # AUTOINCREMENT: a round id is never reused, so ids in buttons and caches stay unambiguous.
        """CREATE TABLE rounds (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            platform TEXT NOT NULL, workspace TEXT NOT NULL, channel TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('daily', 'post', 'personal', 'review')),
            question_id TEXT NOT NULL, level TEXT NOT NULL, owner TEXT,
            daily_date TEXT, timezone TEXT NOT NULL, hidden_votes INTEGER NOT NULL DEFAULT 0,
            posted_at TEXT NOT NULL, deadline TEXT, revealed_at TEXT,
            message_id TEXT, thread_id TEXT)""",
        # The one guarantee that no restart, retry or race can break.
        """CREATE UNIQUE INDEX rounds_one_daily ON rounds (platform, workspace, channel, daily_date)
            WHERE kind = 'daily'""",
        "CREATE INDEX rounds_open ON rounds (revealed_at, deadline) WHERE revealed_at IS NULL",
        "CREATE INDEX rounds_message ON rounds (platform, message_id)",
        "CREATE INDEX rounds_channel ON rounds (platform, workspace, channel, question_id)",
        """CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            round_id INTEGER NOT NULL REFERENCES rounds (id),
            platform TEXT NOT NULL, workspace TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT NOT NULL,
            choice INTEGER, answered_at TEXT NOT NULL,
            text TEXT, written_at TEXT,
            correct INTEGER, score REAL, points INTEGER NOT NULL DEFAULT 0, found TEXT,
            UNIQUE (round_id, user_id))""",
        "CREATE INDEX answers_member ON answers (platform, workspace, user_id, answered_at)",
        # Leaderboard aggregates, kept up to date at each reveal so ranking never scans history.
        """CREATE TABLE scores (
            platform TEXT NOT NULL, workspace TEXT NOT NULL, week TEXT NOT NULL, user_id TEXT NOT NULL,
            name TEXT NOT NULL, points INTEGER NOT NULL DEFAULT 0, correct INTEGER NOT NULL DEFAULT 0,
            answered INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (platform, workspace, week, user_id))""",
        "CREATE INDEX scores_rank ON scores (platform, workspace, week, points DESC)",
        """CREATE TABLE members (
            platform TEXT NOT NULL, workspace TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT NOT NULL,
            points INTEGER NOT NULL DEFAULT 0, correct INTEGER NOT NULL DEFAULT 0,
            answered INTEGER NOT NULL DEFAULT 0,
            streak INTEGER NOT NULL DEFAULT 0, best_streak INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (platform, workspace, user_id))""",
        "CREATE INDEX members_rank ON members (platform, workspace, points DESC)",
        "CREATE INDEX members_streak ON members (platform, workspace, streak) WHERE streak > 0",
        # Problems to tell a workspace's admins at their next command (e.g. missing permissions).
        """CREATE TABLE notices (
            id INTEGER PRIMARY KEY, platform TEXT NOT NULL, workspace TEXT NOT NULL,
            text TEXT NOT NULL, created_at TEXT NOT NULL, shown_at TEXT)""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )


@migrations()
def m002_study(db: Database) -> None:
    _run(
        db,
        # One spaced-repetition card per member and question (FSRS state as JSON).
        """CREATE TABLE cards (
            platform TEXT NOT NULL, workspace TEXT NOT NULL, user_id TEXT NOT NULL,
            question_id TEXT NOT NULL, state TEXT NOT NULL, due TEXT NOT NULL,
            reviews INTEGER NOT NULL DEFAULT 0, last_rating INTEGER,
            PRIMARY KEY (platform, workspace, user_id, question_id))""",
        "CREATE INDEX cards_due ON cards (platform, workspace, user_id, due)",
        """CREATE TABLE reminders (
            platform TEXT NOT NULL, workspace TEXT NOT NULL, user_id TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1, last_sent TEXT,
            PRIMARY KEY (platform, workspace, user_id))""",
    )


@migrations()
def m003_open_questions(db: Database) -> None:
    _run(
        db,
        # /quiz setup open=on: the channel's rounds may draw open-ended questions (off: one-click rounds only).
        "ALTER TABLE workspaces ADD COLUMN open_questions INTEGER NOT NULL DEFAULT 0",
    )


@migrations()
def m004_rounds_thread(db: Database) -> None:
    _run(
        db,
        # round_by_message's lookup by thread (a Discord thread has its own id), run for every thread message the
        # post's id does not match: without this index it read and sorted all the platform's rounds (0.11 s at
        # 200k rounds; now 0.01 ms). Partial, as private rounds have no thread: half the size; 0.05 s to build.
        "CREATE INDEX rounds_thread ON rounds (platform, thread_id) WHERE thread_id IS NOT NULL",
    )


# m005 is the dashboard's (round_tallies), in the versioned migrations that replace these: this name is the one
# they adopt as version 6.
@migrations()
def m006_claims(db: Database) -> None:
    _run(
        db,
        # Work that several replicas on one database may all see due, taken by whoever claims it first: a round's
        # post, a reveal. A claim is a lease: it lapses at expires_at (UTC ISO text), so the work of a replica that
        # died holding it is taken over by another. Leases that ran out are swept by the scheduler.
        "CREATE TABLE claims (key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TEXT NOT NULL)",
        "CREATE INDEX claims_expiry ON claims (expires_at)",
        # Slack events some replica already took: Slack retries an event it thinks was slow, and behind a load
        # balancer the retry may reach another replica. Kept an hour, past Slack's last retry.
        "CREATE TABLE slack_events (event_id TEXT PRIMARY KEY, seen_at TEXT NOT NULL)",
        "CREATE INDEX slack_events_seen ON slack_events (seen_at)",
    )
