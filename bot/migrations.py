"""The database schema, as an ordered list of versioned migrations applied at start, exactly once.

Each migration is written once, in SQLite's dialect; `bot.db.ddl` gives PostgreSQL its own types.
`apply` runs inside one transaction that first takes the migration lock (BEGIN IMMEDIATE on SQLite, an
advisory lock on PostgreSQL), so processes started together wait for each other and each version is
applied by exactly one of them. PostgreSQL's DDL is transactional: a failed migration leaves nothing.

Timestamps are UTC ISO-8601 text of one fixed width (see bot.clock.iso), so
they compare correctly as strings in SQL.

To change the schema, append a step at the end with the next version, in SQLite's dialect:

    migration(5, "claims", "CREATE TABLE claims (key TEXT PRIMARY KEY, holder TEXT NOT NULL, until TEXT NOT NULL)")

and never edit a step that has shipped. Portable DDL needs nothing else; a step whose PostgreSQL form
differs beyond what `ddl` translates can pass `run=` a function of the Database (see `db.backend`).

Databases made before versions were numbered (sqlite-utils' `_sqlite_migrations` table, names m001_core
to m004_rounds_thread and m006_claims) are adopted: each name there counts as its version applied.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.db import Database, ddl

TABLE = "schema_migrations"
LEGACY_TABLE = "_sqlite_migrations"  # sqlite-utils' Migrations("studybot"), before versions
LEGACY_SET = "studybot"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...] = ()
    run: Callable[[Database], None] | None = None  # for a step SQL alone cannot say

    @property
    def legacy_name(self) -> str:
        return f"m{self.version:03d}_{self.name}"


MIGRATIONS: list[Migration] = []


def migration(version: int, name: str, *statements: str, run: Callable[[Database], None] | None = None) -> Migration:
    # Increasing; a gap is a number taken by work not merged yet. Whatever is pending is applied, in version order,
    # even below a version applied already: steps are independent of each other's order unless they say so.
    assert not MIGRATIONS or version > MIGRATIONS[-1].version, "versions increase"
    step = Migration(version, name, statements, run)
    MIGRATIONS.append(step)
    return step


migration(
    1, "core",
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

migration(
    2, "study",
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

migration(
    3, "open_questions",
    # /quiz setup open=on: the channel's rounds may draw open-ended questions (off: one-click rounds only).
    "ALTER TABLE workspaces ADD COLUMN open_questions INTEGER NOT NULL DEFAULT 0",
)

migration(
    4, "rounds_thread",
    # round_by_message's lookup by thread (a Discord thread has its own id), run for every thread message the
    # post's id does not match: without this index it read and sorted all the platform's rounds (0.11 s at
    # 200k rounds; now 0.01 ms). Partial, as private rounds have no thread: half the size; 0.05 s to build.
    "CREATE INDEX rounds_thread ON rounds (platform, thread_id) WHERE thread_id IS NOT NULL",
)

migration(
    5, "dashboard",
    # The dashboard's archive: a workspace's revealed channel rounds, newest first, a page at a time, without
    # reading the far more numerous personal rounds. Partial: a query repeats its WHERE to use it.
    """CREATE INDEX rounds_archive ON rounds (platform, workspace, id)
            WHERE kind IN ('daily', 'post') AND revealed_at IS NOT NULL""",
    # A revealed channel round's counts, which never change after the reveal, written by the dashboard the first
    # time it shows the round (bot/dashboard_data.py): the archive and the weak-topics heatmap then never count
    # a workspace's answers again. picks: JSON list, how many picked choice 1, 2, ...
    """CREATE TABLE round_tallies (
            round_id INTEGER NOT NULL REFERENCES rounds (id),
            answered INTEGER NOT NULL, correct INTEGER NOT NULL, written INTEGER NOT NULL,
            picks TEXT NOT NULL,
            PRIMARY KEY (round_id))""",
    # The boards in their full order, ties included, with the member's id: a page deep in a 100,000-member board
    # (OFFSET 99,950) walks this index alone, then reads its 50 rows (the dashboard's last page: 0.2 s -> 14 ms).
    # They replace members_rank and scores_rank, their prefixes, which served the same queries less well.
    "CREATE INDEX members_board ON members (platform, workspace, points DESC, correct DESC, name, user_id)",
    "CREATE INDEX scores_board ON scores (platform, workspace, week, points DESC, correct DESC, name, user_id)",
    "DROP INDEX members_rank",
    "DROP INDEX scores_rank",
)

migration(
    6, "claims",
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


def _rounds_take_mocks(db: Database) -> None:
    """rounds.kind may be 'mock': its CHECK constraint widened (SQLite cannot alter one: the table is rebuilt)."""
    kinds = "('daily', 'post', 'personal', 'review', 'mock')"
    if db.backend == "postgresql":
        for row in db.rows("""SELECT conname FROM pg_constraint WHERE conrelid = 'rounds'::regclass AND contype = 'c'
                              AND pg_get_constraintdef(oid) LIKE '%kind%'"""):
            db.execute(f'ALTER TABLE rounds DROP CONSTRAINT "{row["conname"]}"')
        db.execute(f"ALTER TABLE rounds ADD CONSTRAINT rounds_kind_check CHECK (kind IN {kinds})")
        return
    # SQLite's way (https://www.sqlite.org/lang_altertable.html#otheralter): the table made again from its stored
    # definition with the wider CHECK, and its rows and indexes put back. No rename: with foreign keys on, SQLite
    # would point answers' references at the renamed table. Dropping "rounds" leaves answers, round_tallies and
    # mock_items without parents for a moment; deferred, those checks count again as the rows come back, and
    # must be settled by COMMIT.
    stored = db.row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'rounds'")
    assert stored is not None, "migration 1 made the rounds table"
    table = stored["sql"]
    widened, found = re.subn(r"CHECK\s*\(\s*kind\s+IN\s*\([^)]*\)\s*\)", f"CHECK (kind IN {kinds})", table)
    if found != 1:
        raise RuntimeError("rounds: cannot find the CHECK on kind to widen")
    indexes = [r["sql"] for r in db.rows("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rounds' "
                                         "AND sql IS NOT NULL")]
    sequence = db.row("SELECT seq FROM sqlite_sequence WHERE name = 'rounds'")
    db.execute("PRAGMA defer_foreign_keys = ON")  # until this transaction ends
    db.execute("CREATE TEMP TABLE rounds_before_mocks AS SELECT * FROM rounds")
    db.execute("DROP TABLE rounds")
    db.execute(widened)
    db.execute("INSERT INTO rounds SELECT * FROM temp.rounds_before_mocks")
    db.execute("DROP TABLE temp.rounds_before_mocks")
    for statement in indexes:
        db.execute(statement)
    if sequence is not None:  # ids are never reused, even those of rounds deleted since
        seq = sequence["seq"]
        if db.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'rounds'", (seq,)).rowcount == 0:
            db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('rounds', ?)", (seq,))


migration(
    7, "mocks",
    # /quiz setup mock_mc=60s mock_open=5m: a mock interview's time limit per question, in seconds.
    "ALTER TABLE workspaces ADD COLUMN mock_mc INTEGER NOT NULL DEFAULT 60",
    "ALTER TABLE workspaces ADD COLUMN mock_open INTEGER NOT NULL DEFAULT 300",
    # A member's mock interview (bot/mocks.py): questions asked one at a time, each a round of kind 'mock'.
    # status: open, done (all questions answered) or stopped (/quiz mock stop); plan: JSON list of the formats
    # to ask ("mc", "open"); tier: the difficulty the next question is drawn at.
    """CREATE TABLE mocks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            platform TEXT NOT NULL, workspace TEXT NOT NULL, channel TEXT NOT NULL,
            user_id TEXT NOT NULL, name TEXT NOT NULL, level TEXT,
            plan TEXT NOT NULL, tier INTEGER NOT NULL, position INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'open', started_at TEXT NOT NULL, ended_at TEXT)""",
    # One open mock per member, whatever the races or replicas.
    "CREATE UNIQUE INDEX mocks_one_open ON mocks (platform, workspace, user_id) WHERE ended_at IS NULL",
    # Each question of a mock: when it was asked, its deadline, and the result (late: answered after the deadline,
    # graded but worth 0 in the mock).
    """CREATE TABLE mock_items (
            mock_id INTEGER NOT NULL REFERENCES mocks (id), position INTEGER NOT NULL,
            question_id TEXT NOT NULL, round_id INTEGER NOT NULL REFERENCES rounds (id),
            asked_at TEXT NOT NULL, deadline TEXT NOT NULL, answered_at TEXT,
            correct INTEGER, score REAL, late INTEGER, found TEXT, choice INTEGER,
            PRIMARY KEY (mock_id, position))""",
    "CREATE INDEX mock_items_round ON mock_items (round_id)",
    # Questions an admin marked broken (/quiz broken): no pick (daily, /quiz post, personal, mock) draws them.
    # Members' own reports live elsewhere (question_flags, /quiz flag).
    """CREATE TABLE question_status (
            question_id TEXT NOT NULL PRIMARY KEY, status TEXT NOT NULL, reason TEXT,
            at TEXT NOT NULL, marked_by TEXT)""",
    run=_rounds_take_mocks,
)

migration(
    8, "team",
    # /quiz setup season=monthly|quarterly (NULL: off), remind=1h (seconds before the reveal; NULL: off), and
    # ping=<group> (a Discord role id or a Slack user group id mentioned on the daily post; NULL: off).
    "ALTER TABLE workspaces ADD COLUMN season TEXT",
    "ALTER TABLE workspaces ADD COLUMN remind_before INTEGER",
    "ALTER TABLE workspaces ADD COLUMN ping TEXT",
    # The season leaderboard: like scores, per season ("2026-11" monthly, "2026-Q4" quarterly, in the channel's
    # time zone), kept up to date at each reveal while seasons are on. All-time standings stay in members.
    """CREATE TABLE season_scores (
            platform TEXT NOT NULL, workspace TEXT NOT NULL, season TEXT NOT NULL, user_id TEXT NOT NULL,
            name TEXT NOT NULL, points INTEGER NOT NULL DEFAULT 0, correct INTEGER NOT NULL DEFAULT 0,
            answered INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (platform, workspace, season, user_id))""",
    "CREATE INDEX season_scores_board ON season_scores (platform, workspace, season, points DESC)",
    # /quiz flag: one row per member and question (a member flagging twice counts once); `studybot items` counts
    # them. A question with 3 open reports (cleared_at NULL) is paused in that workspace until an admin clears them
    # (/quiz flags clear); a member's report after that counts again.
    """CREATE TABLE question_flags (
            id INTEGER PRIMARY KEY, question_id TEXT NOT NULL,
            platform TEXT NOT NULL, workspace TEXT NOT NULL, user_id TEXT NOT NULL,
            reason TEXT, at TEXT NOT NULL, cleared_at TEXT, cleared_by TEXT,
            UNIQUE (question_id, platform, workspace, user_id))""",
    "CREATE INDEX question_flags_open ON question_flags (platform, workspace, question_id) WHERE cleared_at IS NULL",
    # /quiz suggest: proposed questions. fields: JSON of the form's fields as typed; status: draft (sent with
    # errors, kept so the form can be opened again with them), pending, approved (question_id set: asked like a
    # bank question, `studybot export --yaml` writes it) or rejected (reason sent to the author).
    """CREATE TABLE suggestions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            platform TEXT NOT NULL, workspace TEXT NOT NULL, channel TEXT NOT NULL,
            user_id TEXT NOT NULL, name TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('draft', 'pending', 'approved', 'rejected')),
            fields TEXT NOT NULL, question_id TEXT UNIQUE, reason TEXT,
            created_at TEXT NOT NULL, decided_at TEXT, decided_by TEXT)""",
    "CREATE INDEX suggestions_status ON suggestions (status, platform, workspace)",
)

migration(
    9, "slack_installations",
    # Slack workspaces that installed the app through OAuth (SLACK_CLIENT_ID...): each one's bot token, looked
    # up per request. Uninstalled (app_uninstalled, tokens_revoked): the token goes, the row and the team's
    # data stay until an admin deletes them. installation: the rest of slack_sdk's Installation, as JSON.
    """CREATE TABLE slack_installations (
        team_id TEXT PRIMARY KEY, enterprise_id TEXT, team_name TEXT,
        bot_token TEXT, bot_user_id TEXT, bot_id TEXT, bot_scopes TEXT, installer TEXT,
        installation TEXT NOT NULL, installed_at TEXT NOT NULL, uninstalled_at TEXT)""",
    # A workspace whose app was uninstalled: no schedule runs for it, its settings and history are kept.
    "ALTER TABLE workspaces ADD COLUMN active INTEGER NOT NULL DEFAULT 1",
)


def _table_exists(db: Database, name: str) -> bool:
    if db.backend == "sqlite":
        return db.row("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) is not None
    found = db.row("SELECT to_regclass(?) AS t", (name,))  # one row: the table in the search path's schema, or NULL
    return found is not None and found["t"] is not None


def applied(db: Database) -> list[int]:
    """The versions applied to this database, in order."""
    if not _table_exists(db, TABLE):
        return []
    return [r["version"] for r in db.rows(f"SELECT version FROM {TABLE} ORDER BY version")]


def apply(db: Database, *, stop_before: int | None = None, now: datetime | None = None) -> list[int]:
    """Apply the pending migrations (those below `stop_before`, if given) under the migration lock.

    Returns the versions this call applied: empty when another process had already done them.
    """
    stamp = (now or datetime.now(UTC)).isoformat()
    done: list[int] = []
    with db.transaction():
        db.lock_for_migrations()  # SQLite: the transaction's BEGIN IMMEDIATE already holds the write lock
        if not _table_exists(db, TABLE):
            db.execute(f"CREATE TABLE {TABLE} (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, "
                       "applied_at TEXT NOT NULL)")
            _adopt_legacy(db)
        have = set(applied(db))
        for step in MIGRATIONS:
            if step.version in have:
                continue
            if stop_before is not None and step.version >= stop_before:
                break
            for statement in step.statements:
                db.execute(ddl(db.backend, statement))
            if step.run is not None:
                step.run(db)
            db.execute(f"INSERT INTO {TABLE} (version, name, applied_at) VALUES (?, ?, ?)",
                       (step.version, step.name, stamp))
            done.append(step.version)
    return done


def _adopt_legacy(db: Database) -> None:
    """A SQLite database migrated by sqlite-utils: record its applied names as versions."""
    if db.backend != "sqlite" or not _table_exists(db, LEGACY_TABLE):
        return
    by_name = {step.legacy_name: step for step in MIGRATIONS}
    for row in db.rows(f"SELECT name, applied_at FROM {LEGACY_TABLE} WHERE migration_set = ?", (LEGACY_SET,)):
        step = by_name.get(row["name"])
        if step is None:
            raise RuntimeError(f"the database has migration {row['name']!r}, which this version of studybot does "
                               "not know: it was made by a newer version")
        db.execute(f"INSERT INTO {TABLE} (version, name, applied_at) VALUES (?, ?, ?)",
                   (step.version, step.name, row["applied_at"]))
