"""Storage on SQLite or PostgreSQL: every query the engine needs, and nothing else.

The queries are written once, in the SQL both databases share, and run through bot.db's thin layer
(`?` placeholders, dict rows, autocommit outside `transaction()`). The database is the source of truth
for rounds, answers and scores; the scheduler is rebuilt from it at each start.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import migrations
from bot.clock import iso, parse_iso
from bot.db import Database, Row, SqliteDatabase, connect, is_postgres_url
from bot.models import Answer, ChannelSettings, Member, Place, Round, Standing


class TeamData:
    """Queries of the team features (issue 16): season boards, question reports (/quiz flag), suggested questions
    (/quiz suggest) and forgetting a member. A mixin of Store (its `db`, `rows`, `row` and round cache), kept in
    one block."""

    db: Database
    _rounds: dict[int, Round]

    if TYPE_CHECKING:  # Store's own, which these queries use

        def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

        def row(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    # ---- seasons ---------------------------------------------------------------------------------

    def add_season_score(self, platform: str, workspace: str, season: str, user_id: str, name: str, points: int,
                         correct: bool) -> None:
        self.add_season_scores(platform, workspace, season, [(user_id, name, points, correct)])

    def add_season_scores(self, platform: str, workspace: str, season: str,
                          rows: Sequence[tuple[str, str, int, bool]]) -> None:
        """(user_id, name, points, correct) per answer, into the season's aggregate, in one statement."""
        self.db.executemany(
            """INSERT INTO season_scores (platform, workspace, season, user_id, name, points, correct, answered)
               VALUES (?, ?, ?, ?, ?, ?, ?, 1)
               ON CONFLICT (platform, workspace, season, user_id) DO UPDATE SET name = excluded.name,
                   points = season_scores.points + excluded.points,
                   correct = season_scores.correct + excluded.correct, answered = season_scores.answered + 1""",
            [(platform, workspace, season, u, n, p, int(c)) for u, n, p, c in rows],
        )

    def season_standings(self, platform: str, workspace: str, season: str, limit: int) -> list[Standing]:
        return self._period_standings("season_scores", "season", platform, workspace, season, limit)

    def season_standing_of(self, platform: str, workspace: str, season: str, user_id: str) -> Standing | None:
        return self._period_standing_of("season_scores", "season", platform, workspace, season, user_id)

    # The week's and the season's boards: the same queries over `scores` (by week) and `season_scores` (by season).
    _PERIOD_ROW = """SELECT s.user_id, s.name, s.points, s.correct, s.answered, COALESCE(m.streak, 0) AS streak
               FROM {table} s LEFT JOIN members m ON m.platform = s.platform AND m.workspace = s.workspace
                    AND m.user_id = s.user_id
               WHERE s.platform = ? AND s.workspace = ? AND s.{column} = ?"""

    def _period_standings(self, table: str, column: str, platform: str, workspace: str, period: str,
                          limit: int) -> list[Standing]:
        rows = self.rows(self._PERIOD_ROW.format(table=table, column=column)
                         + " ORDER BY s.points DESC, s.correct DESC, s.name LIMIT ?",
                         (platform, workspace, period, limit))
        return _ranked(rows)

    def _period_standing_of(self, table: str, column: str, platform: str, workspace: str, period: str,
                            user_id: str) -> Standing | None:
        row = self.row(self._PERIOD_ROW.format(table=table, column=column) + " AND s.user_id = ?",
                       (platform, workspace, period, user_id))
        if row is None:
            return None
        ahead = self.row(f"SELECT COUNT(*) AS n FROM {table} WHERE platform = ? AND workspace = ? AND {column} = ? "
                         "AND points > ?", (platform, workspace, period, row["points"]))
        return Standing(rank=(ahead["n"] if ahead else 0) + 1, **row)

    # ---- question reports (/quiz flag) -----------------------------------------------------------------

    def flag_question(self, question_id: str, platform: str, workspace: str, user_id: str, reason: str | None,
                      now: datetime) -> bool:
        """Record a member's report; False when their report of that question is open already (not yet cleared)."""
        cursor = self.db.execute(
            """INSERT INTO question_flags (question_id, platform, workspace, user_id, reason, at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (question_id, platform, workspace, user_id) DO UPDATE SET reason = excluded.reason,
                   at = excluded.at, cleared_at = NULL, cleared_by = NULL
               WHERE question_flags.cleared_at IS NOT NULL""",
            (question_id, platform, workspace, user_id, reason, iso(now)),
        )
        return cursor.rowcount == 1

    def open_flags(self, platform: str, workspace: str, question_id: str | None = None) -> list[Row]:
        """Reports no admin cleared yet (question_id, reason, at), oldest first; of one question, or of all."""
        sql = """SELECT question_id, reason, at FROM question_flags
                 WHERE platform = ? AND workspace = ? AND cleared_at IS NULL"""
        params: list[Any] = [platform, workspace]
        if question_id is not None:
            sql += " AND question_id = ?"
            params.append(question_id)
        return self.rows(sql + " ORDER BY at, id", params)

    def paused_questions(self, platform: str, workspace: str, threshold: int) -> set[str]:
        """Questions with `threshold` open reports or more (from as many members), in this workspace."""
        rows = self.rows(
            """SELECT question_id FROM question_flags WHERE platform = ? AND workspace = ? AND cleared_at IS NULL
               GROUP BY question_id HAVING COUNT(*) >= ?""",
            (platform, workspace, threshold),
        )
        return {r["question_id"] for r in rows}

    def clear_flags(self, platform: str, workspace: str, question_id: str, by: str, now: datetime) -> int:
        """An admin reviewed a question's reports: they stop counting (the rows stay, for `studybot items`)."""
        cursor = self.db.execute(
            """UPDATE question_flags SET cleared_at = ?, cleared_by = ?
               WHERE platform = ? AND workspace = ? AND question_id = ? AND cleared_at IS NULL""",
            (iso(now), by, platform, workspace, question_id),
        )
        return cursor.rowcount

    def latest_round_seen(self, platform: str, workspace: str, channel: str, user_id: str) -> Round | None:
        """The round whose question a member saw last: their own latest question, a channel round they answered,
        or the latest channel round of the channel they are in, whichever came last."""
        row = self.row(
            """SELECT * FROM rounds WHERE id = (SELECT MAX(id) FROM (
                   SELECT MAX(id) AS id FROM rounds WHERE platform = ? AND workspace = ? AND owner = ?
                   UNION ALL SELECT MAX(a.round_id) FROM answers a WHERE a.platform = ? AND a.workspace = ?
                        AND a.user_id = ?
                   UNION ALL SELECT MAX(id) FROM rounds WHERE platform = ? AND workspace = ? AND channel = ?
                        AND kind IN ('daily', 'post') AND message_id IS NOT NULL) AS seen)""",
            (platform, workspace, user_id, platform, workspace, user_id, platform, workspace, channel),
        )
        return Round.from_row(row) if row else None

    # ---- suggested questions (/quiz suggest) -------------------------------------------------------------

    def save_suggestion(self, place: Place, member: Member, status: str, fields: str, now: datetime,
                        suggestion_id: int | None = None) -> int:
        """A new suggestion (or a draft's new text and status); its id."""
        if suggestion_id is not None:
            self.db.execute("UPDATE suggestions SET fields = ?, status = ?, created_at = ? WHERE id = ?",
                            (fields, status, iso(now), suggestion_id))
            return suggestion_id
        row = self.db.row(
            """INSERT INTO suggestions (platform, workspace, channel, user_id, name, status, fields, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
            (place.platform, place.workspace, place.channel, member.user_id, member.name, status, fields, iso(now)),
        )
        assert row is not None
        return int(row["id"])

    def suggestion(self, suggestion_id: int) -> Row | None:
        return self.row("SELECT * FROM suggestions WHERE id = ?", (suggestion_id,))

    def suggestions_of(self, platform: str, workspace: str, status: str) -> list[Row]:
        return self.rows("SELECT * FROM suggestions WHERE platform = ? AND workspace = ? AND status = ? ORDER BY id",
                         (platform, workspace, status))

    def approved_suggestions(self) -> list[Row]:
        return self.rows("SELECT * FROM suggestions WHERE status = 'approved' ORDER BY id")

    def edit_suggestion(self, suggestion_id: int, fields: str) -> None:
        self.db.execute("UPDATE suggestions SET fields = ? WHERE id = ?", (fields, suggestion_id))

    def decide_suggestion(self, suggestion_id: int, status: str, question_id: str | None, reason: str | None,
                          by: str, now: datetime) -> bool:
        """Approve or reject a pending suggestion once; False when someone decided it already."""
        cursor = self.db.execute(
            """UPDATE suggestions SET status = ?, question_id = ?, reason = ?, decided_at = ?, decided_by = ?
               WHERE id = ? AND status = 'pending'""",
            (status, question_id, reason, iso(now), by, suggestion_id),
        )
        return cursor.rowcount == 1

    # ---- forgetting a member (/quiz forget-me, studybot forget) -------------------------------------------

    def member_data(self, user_id: str, platform: str | None = None) -> dict[str, int]:
        """How many rows hold this member's personal data, per kind (a singular noun); all zero: nothing known."""
        where, params = (("platform = ? AND user_id = ?", (platform, user_id)) if platform
                         else ("user_id = ?", (user_id,)))
        owner = ("platform = ? AND owner = ?", (platform, user_id)) if platform else ("owner = ?", (user_id,))
        counts = {}
        for kind, table, clause, args in (
            ("answer", "answers", where, params), ("stats", "members", where, params),
            ("weekly score", "scores", where, params), ("season score", "season_scores", where, params),
            ("review card", "cards", where, params), ("reminder setting", "reminders", where, params),
            ("report", "question_flags", where, params), ("suggestion", "suggestions", where, params),
            ("mock interview", "mocks", where, params), ("private question", "rounds", owner[0], owner[1]),
        ):
            if not migrations._table_exists(self.db, table):  # a table of a feature this database lacks
                continue
            found = self.row(f"SELECT COUNT(*) AS n FROM {table} WHERE {clause}", args)
            counts[kind] = found["n"] if found else 0
        return counts

    def forget_member(self, user_id: str, platform: str | None, token: str) -> None:
        """Delete a member's name, the text of their answers, their stats, cards and reminders, in one transaction.

        Past rounds keep anonymous tallies: the member's answers stay, under `token` instead of their id, named
        "(deleted)", without text. Answers to rounds still open are deleted (they would score a nameless member).
        Reports and suggestions stay, without name or reason. `token` is new for each deletion (not derived from
        the id), so nothing links the rows back to the member.
        """
        where, params = (("platform = ? AND user_id = ?", [platform, user_id]) if platform
                         else ("user_id = ?", [user_id]))
        with self.db.transaction():
            self.db.execute(f"""DELETE FROM answers WHERE {where}
                                AND round_id IN (SELECT id FROM rounds WHERE revealed_at IS NULL)""", params)
            self.db.execute(f"UPDATE answers SET user_id = ?, name = '(deleted)', text = NULL WHERE {where}",
                            [token, *params])
            owner = where.replace("user_id", "owner")
            self.db.execute(f"UPDATE rounds SET owner = ? WHERE {owner}", [token, *params])
            for table in ("scores", "members", "season_scores", "cards", "reminders"):
                self.db.execute(f"DELETE FROM {table} WHERE {where}", params)
            self.db.execute(f"UPDATE question_flags SET user_id = ?, reason = NULL WHERE {where}", [token, *params])
            self.db.execute(f"UPDATE suggestions SET user_id = ?, name = '(deleted)' WHERE {where}", [token, *params])
            if migrations._table_exists(self.db, "mocks"):
                self.db.execute(f"UPDATE mocks SET user_id = ?, name = '(deleted)' WHERE {where}", [token, *params])
        self._rounds.clear()  # owners changed


# Upserts a reveal runs once per answer, batched with executemany.
_WEEK_SCORE = """INSERT INTO scores (platform, workspace, week, user_id, name, points, correct, answered)
    VALUES (?, ?, ?, ?, ?, ?, ?, 1)
    ON CONFLICT (platform, workspace, week, user_id) DO UPDATE SET name = excluded.name,
        points = scores.points + excluded.points, correct = scores.correct + excluded.correct,
        answered = scores.answered + 1"""
_MEMBER_SCORE = """INSERT INTO members (platform, workspace, user_id, name, points, correct, answered)
    VALUES (?, ?, ?, ?, ?, ?, 1)
    ON CONFLICT (platform, workspace, user_id) DO UPDATE SET name = excluded.name,
        points = members.points + excluded.points, correct = members.correct + excluded.correct,
        answered = members.answered + 1"""
_CARD_UPSERT = """INSERT INTO cards (platform, workspace, user_id, question_id, state, due, reviews, last_rating)
    VALUES (?, ?, ?, ?, ?, ?, 1, ?)
    ON CONFLICT (platform, workspace, user_id, question_id) DO UPDATE SET state = excluded.state,
        due = excluded.due, reviews = cards.reviews + 1, last_rating = excluded.last_rating"""


def _switch_to_wal(db: Database, seconds: float) -> None:
    """PRAGMA journal_mode=WAL, retried for up to `seconds`. On a new file, processes started together race for
    the exclusive lock the switch needs, and SQLite reports the loser's "database is locked" at once, without
    waiting out the busy timeout (measured: 11 of 90 processes, three started at one instant, 30 times)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise
            time.sleep(0.01 + random.random() * 0.04)  # apart, so that the racers do not collide again


class Store(TeamData):
    """The engine's one door to the database. It keeps recent rounds in memory, as rounds change rarely and are
    read on every answer. Every change to a round goes through this class, which drops it from the cache."""

    ROUND_CACHE = 512
    # SQLite's busy timeout (ms): how long a write waits for another connection's write lock to go.
    # At start, before the bot serves any event, processes started together on one file wait out each
    # other's migrations (migrations.apply's BEGIN IMMEDIATE).
    START_BUSY_MS = 10_000
    # Then the event loop blocks on this connection, so 2 s. In WAL mode readers (a backup, an export,
    # `studybot items`) never block our writes; only another writer does: a sibling bot on the same file
    # (Discord and Slack containers on one volume), whose transactions are short (a 1,000-answer reveal
    # holds the lock 33-41 ms, m004 at 200k rounds 50 ms). 2 s rides those out many times over, and
    # stays under the 3 s in which Slack and Discord want an interaction answered. A lock held longer is a
    # stuck writer (say a shell left inside a transaction): failing that one event, logged by the adapter,
    # beats freezing every member's events for 10 s. A worker thread's connection (a reveal's writes run off
    # the loop) keeps START_BUSY_MS: waiting there stalls no one.
    LOOP_BUSY_MS = 2_000

    def __init__(self, db: Database) -> None:
        self.db = db
        self._rounds: dict[int, Round] = {}

    @classmethod
    def open(cls, target: Path | str) -> Store:
        """A SQLite file (a path), or a PostgreSQL database (a postgresql:// URL); pending migrations are applied."""
        if is_postgres_url(target):
            db = connect(str(target))
            try:
                migrations.apply(db)  # under pg_advisory_xact_lock: once, whatever the number of processes
            except BaseException:
                db.close()
                raise
            return cls(db)
        db = connect(Path(target), timeout=cls.START_BUSY_MS / 1000)
        try:
            _switch_to_wal(db, cls.START_BUSY_MS / 1000)
            db.execute(f"PRAGMA busy_timeout={cls.START_BUSY_MS}")  # foreign keys and synchronous: SqliteDatabase
            # Several processes may start together on one file (a Discord and a Slack container on one volume).
            # migrations.apply's BEGIN IMMEDIATE takes the write lock up front, waiting out the busy timeout, so
            # migrations apply exactly once; a deferred transaction would fail at once with "database is locked"
            # when two readers both try to upgrade to writers.
            migrations.apply(db)
            db.execute(f"PRAGMA busy_timeout={cls.LOOP_BUSY_MS}")
        except BaseException:
            db.close()
            raise
        return cls(db)

    @property
    def backend(self) -> str:
        return self.db.backend

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None on PostgreSQL."""
        return self.db.path if isinstance(self.db, SqliteDatabase) else None

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        try:
            with self.db.transaction() as db:
                yield db
        except BaseException:
            self._rounds.clear()  # rolled back: cached rounds may hold changes that never landed
            raise

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.db.rows(sql, params)

    def row(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return self.db.row(sql, params)

    # ---- workspace settings --------------------------------------------------

    def workspace(self, platform: str, workspace: str) -> ChannelSettings | None:
        """The stored settings of an active workspace (one whose app was uninstalled has none)."""
        row = self.row("SELECT * FROM workspaces WHERE platform = ? AND workspace = ? AND active = 1",
                       (platform, workspace))
        return _settings(row) if row else None

    def workspaces(self) -> list[ChannelSettings]:
        rows = self.rows("SELECT * FROM workspaces WHERE active = 1 ORDER BY platform, workspace")
        return [_settings(r) for r in rows]

    def set_workspace_active(self, platform: str, workspace: str, active: bool, now: datetime) -> None:
        """Uninstalled (False): its schedules stop, its settings and history stay; reinstalled (True): back."""
        self.db.execute("UPDATE workspaces SET active = ?, updated_at = ? WHERE platform = ? AND workspace = ?",
                        (int(active), iso(now), platform, workspace))

    def workspace_source(self, platform: str, workspace: str) -> str | None:
        row = self.row("SELECT source FROM workspaces WHERE platform = ? AND workspace = ?", (platform, workspace))
        return row["source"] if row else None

    def save_workspace(self, s: ChannelSettings, source: str, now: datetime) -> None:
        self.db.execute(
            """INSERT INTO workspaces (platform, workspace, channel, daily_at, days, timezone, reveal_after,
                   weekly_at, hidden_votes, open_questions, mock_mc, mock_open, source, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (platform, workspace) DO UPDATE SET channel = excluded.channel,
                   daily_at = excluded.daily_at, days = excluded.days, timezone = excluded.timezone,
                   reveal_after = excluded.reveal_after, weekly_at = excluded.weekly_at,
                   hidden_votes = excluded.hidden_votes, open_questions = excluded.open_questions,
                   mock_mc = excluded.mock_mc, mock_open = excluded.mock_open,
                   source = excluded.source,
                   updated_at = excluded.updated_at""",
            (s.platform, s.workspace, s.channel, s.daily_at, s.days, s.timezone, s.reveal_after,
             s.weekly_at, int(s.hidden_votes), int(s.open_questions), s.mock_mc, s.mock_open, source, iso(now)),
        )
        # The team settings (season, remind, ping; migration 8) in their own statement.
        self.db.execute(
            "UPDATE workspaces SET season = ?, remind_before = ?, ping = ? WHERE platform = ? AND workspace = ?",
            (s.season, s.remind_before, s.ping, s.platform, s.workspace),
        )

    # ---- rounds ----------------------------------------------------------------

    def create_round(
        self, place: Place, kind: str, question_id: str, level: str, now: datetime, *,
        owner: str | None = None, daily_date: str | None = None, timezone: str = "UTC",
        deadline: datetime | None = None, hidden_votes: bool = False,
    ) -> int | None:
        """The new round's id, or None when that channel already has its daily round for the date."""
        # The only unique key a new round can hit is rounds_one_daily (ids are generated): DO NOTHING there
        # returns no row, without an error that would abort an enclosing PostgreSQL transaction.
        row = self.db.row(
            """INSERT INTO rounds (platform, workspace, channel, kind, question_id, level, owner,
                   daily_date, timezone, hidden_votes, posted_at, deadline)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT DO NOTHING RETURNING id""",
            (place.platform, place.workspace, place.channel, kind, question_id, level, owner,
             daily_date, timezone, int(hidden_votes), iso(now), iso(deadline) if deadline else None),
        )
        return row["id"] if row else None

    def round(self, round_id: int) -> Round | None:
        cached = self._rounds.get(round_id)
        if cached is not None:
            return cached
        row = self.row("SELECT * FROM rounds WHERE id = ?", (round_id,))
        if row is None:
            return None
        if len(self._rounds) >= self.ROUND_CACHE:
            self._rounds.clear()
        self._rounds[round_id] = found = Round.from_row(row)
        return found

    def round_by_message(self, platform: str, message_id: str) -> Round | None:
        row = self.row(
            "SELECT * FROM rounds WHERE platform = ? AND message_id = ? ORDER BY id DESC LIMIT 1",
            (platform, message_id),
        )
        if row is None:  # Slack threads hang off the post; Discord threads have their own id
            row = self.row(
                "SELECT * FROM rounds WHERE platform = ? AND thread_id = ? ORDER BY id DESC LIMIT 1",
                (platform, message_id),
            )
        return Round.from_row(row) if row else None

    def set_round_message(self, round_id: int, message_id: str, thread_id: str | None) -> None:
        self._rounds.pop(round_id, None)
        self.db.execute(
            "UPDATE rounds SET message_id = ?, thread_id = COALESCE(?, thread_id) WHERE id = ?",
            (message_id, thread_id, round_id),
        )

    def open_channel_rounds(self) -> list[Round]:
        rows = self.rows(
            "SELECT * FROM rounds WHERE revealed_at IS NULL AND kind IN ('daily', 'post') "
            "ORDER BY deadline NULLS FIRST, id"
        )
        return [Round.from_row(r) for r in rows]

    def open_personal_round(self, place: Place, owner: str) -> Round | None:
        row = self.row(
            """SELECT * FROM rounds WHERE revealed_at IS NULL AND kind IN ('personal', 'review', 'mock')
               AND platform = ? AND workspace = ? AND owner = ? ORDER BY id DESC LIMIT 1""",
            (place.platform, place.workspace, owner),
        )
        return Round.from_row(row) if row else None

    def latest_open_channel_round(self, place: Place) -> Round | None:
        row = self.row(
            """SELECT * FROM rounds WHERE revealed_at IS NULL AND kind IN ('daily', 'post')
               AND platform = ? AND workspace = ? AND channel = ? ORDER BY id DESC LIMIT 1""",
            (place.platform, place.workspace, place.channel),
        )
        return Round.from_row(row) if row else None

    def close_round(self, round_id: int, now: datetime) -> bool:
        """Mark revealed; False when it already was (the reveal then must not run again)."""
        self._rounds.pop(round_id, None)
        cursor = self.db.execute(
            "UPDATE rounds SET revealed_at = ? WHERE id = ? AND revealed_at IS NULL", (iso(now), round_id)
        )
        return cursor.rowcount == 1

    def times_asked(self, place: Place) -> dict[str, int]:
        rows = self.rows(
            """SELECT question_id, COUNT(*) AS n FROM rounds WHERE platform = ? AND workspace = ?
               AND channel = ? AND kind IN ('daily', 'post') GROUP BY question_id""",
            (place.platform, place.workspace, place.channel),
        )
        return {r["question_id"]: r["n"] for r in rows}

    def member_seen(self, platform: str, workspace: str, user_id: str, since: datetime) -> dict[str, str]:
        """question id -> when the member last answered it, for answers since `since`."""
        rows = self.rows(
            """SELECT r.question_id, MAX(a.answered_at) AS last FROM answers a JOIN rounds r ON r.id = a.round_id
               WHERE a.platform = ? AND a.workspace = ? AND a.user_id = ? AND a.answered_at >= ?
               GROUP BY r.question_id""",
            (platform, workspace, user_id, iso(since)),
        )
        return {r["question_id"]: r["last"] for r in rows}

    # ---- answers ---------------------------------------------------------------

    def answer(self, round_id: int, user_id: str) -> Answer | None:
        row = self.row("SELECT * FROM answers WHERE round_id = ? AND user_id = ?", (round_id, user_id))
        return Answer.from_row(row) if row else None

    def answers(self, round_id: int) -> list[Answer]:
        rows = self.rows("SELECT * FROM answers WHERE round_id = ? ORDER BY id", (round_id,))
        return [Answer.from_row(r) for r in rows]

    def _while_open(self) -> str:
        """The condition that the round (the last parameter) is still open, checked where the answer is written.

        A reveal on another replica may claim the round between the deadline check and the write; on PostgreSQL
        FOR SHARE waits for that claim's commit and then sees it, and SQLite serialises the two writes.
        """
        lock = " FOR SHARE" if self.db.backend == "postgresql" else ""
        return f"WHERE EXISTS (SELECT 1 FROM rounds WHERE id = ? AND revealed_at IS NULL{lock})"

    def record_choice(self, rnd: Round, member: Member, choice: int, now: datetime) -> bool:
        """Lock in a member's first choice; False when they had already picked one, or the round has closed."""
        cursor = self.db.execute(
            f"""INSERT INTO answers (round_id, platform, workspace, user_id, name, choice, answered_at)
               SELECT ?, ?, ?, ?, ?, ?, ? {self._while_open()}
               ON CONFLICT (round_id, user_id) DO UPDATE SET choice = excluded.choice, name = excluded.name
               WHERE answers.choice IS NULL""",
            (rnd.id, rnd.place.platform, rnd.place.workspace, member.user_id, member.name, choice, iso(now), rnd.id),
        )
        return cursor.rowcount == 1

    def record_written(self, rnd: Round, member: Member, text: str, now: datetime) -> bool:
        """Keep a member's first written answer whole; False when they had already written one, or it has closed."""
        cursor = self.db.execute(
            f"""INSERT INTO answers (round_id, platform, workspace, user_id, name, answered_at, text, written_at)
               SELECT ?, ?, ?, ?, ?, ?, ?, ? {self._while_open()}
               ON CONFLICT (round_id, user_id) DO UPDATE SET text = excluded.text,
                   written_at = excluded.written_at, name = excluded.name
               WHERE answers.text IS NULL""",
            (rnd.id, rnd.place.platform, rnd.place.workspace, member.user_id, member.name, iso(now), text, iso(now),
             rnd.id),
        )
        return cursor.rowcount == 1

    def answer_ids(self, round_id: int) -> list[int]:
        return [row["id"] for row in self.rows("SELECT id FROM answers WHERE round_id = ?", (round_id,))]

    def set_result(self, answer_id: int, correct: bool, score: float | None, points: int,
                   found: list[bool] | None) -> None:
        self.set_results([(answer_id, correct, score, points, found)])

    def set_results(self, rows: Sequence[tuple[int, bool, float | None, int, list[bool] | None]]) -> None:
        """(answer id, correct, score, points, key points found) per answer, in one statement."""
        self.db.executemany(
            "UPDATE answers SET correct = ?, score = ?, points = ?, found = ? WHERE id = ?",
            [(int(c), s, p, json.dumps(f) if f is not None else None, a) for a, c, s, p, f in rows],
        )

    # ---- leaderboard aggregates -------------------------------------------------

    def add_score(self, platform: str, workspace: str, week: str, user_id: str, name: str, points: int,
                  correct: bool) -> None:
        self.add_scores(platform, workspace, week, [(user_id, name, points, correct)])

    def add_scores(self, platform: str, workspace: str, week: str, rows: Sequence[tuple[str, str, int, bool]]) -> None:
        """(user_id, name, points, correct) per answer, into the week's and the all-time aggregates."""
        self.db.executemany(_WEEK_SCORE, [(platform, workspace, week, u, n, p, int(c)) for u, n, p, c in rows])
        self.db.executemany(_MEMBER_SCORE, [(platform, workspace, u, n, p, int(c)) for u, n, p, c in rows])

    def update_streaks(self, platform: str, workspace: str, winners: list[str]) -> None:
        """After a daily round: winners extend their streak, everyone else's ends."""
        marks = ",".join("?" * len(winners))
        self.db.execute(
            f"""UPDATE members SET streak = 0 WHERE platform = ? AND workspace = ? AND streak > 0
                AND user_id NOT IN ({marks or "''"})""",
            (platform, workspace, *winners),
        )
        if winners:
            self.db.execute(
                f"""UPDATE members SET streak = streak + 1,
                    best_streak = CASE WHEN streak + 1 > best_streak THEN streak + 1 ELSE best_streak END
                    WHERE platform = ? AND workspace = ? AND user_id IN ({marks})""",
                (platform, workspace, *winners),
            )

    def standings(self, platform: str, workspace: str, week: str | None, limit: int) -> list[Standing]:
        if week is not None:
            return self._period_standings("scores", "week", platform, workspace, week, limit)
        rows = self.rows(
            """SELECT user_id, name, points, correct, answered, streak FROM members
               WHERE platform = ? AND workspace = ? ORDER BY points DESC, correct DESC, name LIMIT ?""",
            (platform, workspace, limit),
        )
        return _ranked(rows)

    def standing_of(self, platform: str, workspace: str, week: str | None, user_id: str) -> Standing | None:
        """One member's line with its shared rank (1 + how many have more points)."""
        if week is not None:
            return self._period_standing_of("scores", "week", platform, workspace, week, user_id)
        row = self.row(
            "SELECT user_id, name, points, correct, answered, streak FROM members "
            "WHERE platform = ? AND workspace = ? AND user_id = ?",
            (platform, workspace, user_id),
        )
        if row is None:
            return None
        ahead = self.row("SELECT COUNT(*) AS n FROM members WHERE platform = ? AND workspace = ? AND points > ?",
                         (platform, workspace, row["points"]))
        return Standing(rank=(ahead["n"] if ahead else 0) + 1, **row)

    def member_totals(self, platform: str, workspace: str, user_id: str) -> Row | None:
        return self.row(
            "SELECT * FROM members WHERE platform = ? AND workspace = ? AND user_id = ?", (platform, workspace, user_id)
        )

    def member_answers(self, platform: str, workspace: str, user_id: str) -> list[Row]:
        """Every judged answer of a member: question, kind of round, correct, when."""
        return self.rows(
            """SELECT r.question_id, r.kind, a.correct, a.score, a.answered_at FROM answers a
               JOIN rounds r ON r.id = a.round_id
               WHERE a.platform = ? AND a.workspace = ? AND a.user_id = ? AND a.correct IS NOT NULL
               ORDER BY a.answered_at""",
            (platform, workspace, user_id),
        )

    def team_answers(self, platform: str, workspace: str) -> list[Row]:
        """Judged answers of everyone in a workspace, in channel rounds."""
        return self.rows(
            """SELECT r.question_id, a.correct FROM answers a JOIN rounds r ON r.id = a.round_id
               WHERE a.platform = ? AND a.workspace = ? AND a.correct IS NOT NULL
               AND r.kind IN ('daily', 'post')""",
            (platform, workspace),
        )

    # ---- spaced repetition and reminders -----------------------------------------------

    def card_state(self, platform: str, workspace: str, user_id: str, question_id: str) -> str | None:
        row = self.row(
            "SELECT state FROM cards WHERE platform = ? AND workspace = ? AND user_id = ? AND question_id = ?",
            (platform, workspace, user_id, question_id))
        return row["state"] if row else None

    def card_states(self, platform: str, workspace: str, question_id: str, user_ids: Sequence[str]) -> dict[str, str]:
        """The members' current FSRS cards for one question (one query for a whole reveal)."""
        found: dict[str, str] = {}
        for start in range(0, len(user_ids), 500):  # under any driver's limit on parameters
            chunk = list(user_ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.rows(f"""SELECT user_id, state FROM cards WHERE platform = ? AND workspace = ?
                                     AND question_id = ? AND user_id IN ({marks})""",
                                 (platform, workspace, question_id, *chunk)):
                found[row["user_id"]] = row["state"]
        return found

    def save_cards(self, platform: str, workspace: str, question_id: str,
                   rows: Sequence[tuple[str, str, datetime, int]]) -> None:
        """(user_id, state, due, rating) per member, in one statement."""
        self.db.executemany(_CARD_UPSERT, [(platform, workspace, u, question_id, s, iso(d), r) for u, s, d, r in rows])

    def save_card(self, platform: str, workspace: str, user_id: str, question_id: str, state: str, due: datetime,
                  rating: int) -> None:
        self.save_cards(platform, workspace, question_id, [(user_id, state, due, rating)])

    def due_cards(self, platform: str, workspace: str, user_id: str, now: datetime) -> list[Row]:
        return self.rows(
            """SELECT question_id, due FROM cards WHERE platform = ? AND workspace = ? AND user_id = ? AND due <= ?
               ORDER BY due""",
            (platform, workspace, user_id, iso(now)),
        )

    def next_due(self, platform: str, workspace: str, user_id: str) -> datetime | None:
        row = self.row("SELECT MIN(due) AS due FROM cards WHERE platform = ? AND workspace = ? AND user_id = ?",
                       (platform, workspace, user_id))
        return parse_iso(row["due"]) if row and row["due"] else None

    def set_reminder(self, platform: str, workspace: str, user_id: str, on: bool) -> None:
        self.db.execute(
            """INSERT INTO reminders (platform, workspace, user_id, enabled) VALUES (?, ?, ?, ?)
               ON CONFLICT (platform, workspace, user_id) DO UPDATE SET enabled = excluded.enabled""",
            (platform, workspace, user_id, int(on)),
        )

    def enabled_reminders(self) -> list[Row]:
        return self.rows("SELECT * FROM reminders WHERE enabled = 1")

    def mark_reminded(self, platform: str, workspace: str, user_id: str, day: str) -> None:
        self.db.execute("UPDATE reminders SET last_sent = ? WHERE platform = ? AND workspace = ? AND user_id = ?",
                        (day, platform, workspace, user_id))

    def channel_tallies(self, platform: str, workspace: str) -> list[Row]:
        """Per question: how often the team answered it in channel rounds, and how often right."""
        return self.rows(
            """SELECT r.question_id, COUNT(*) AS answered, SUM(a.correct) AS correct
               FROM answers a JOIN rounds r ON r.id = a.round_id
               WHERE a.platform = ? AND a.workspace = ? AND a.correct IS NOT NULL AND r.kind IN ('daily', 'post')
               GROUP BY r.question_id""",
            (platform, workspace),
        )

    def missed_questions(self, platform: str, workspace: str, user_id: str) -> list[str]:
        """Ids of the questions a member got wrong (in any kind of round), the latest miss first."""
        rows = self.rows(
            """SELECT r.question_id, MAX(a.answered_at) AS last FROM answers a JOIN rounds r ON r.id = a.round_id
               WHERE a.platform = ? AND a.workspace = ? AND a.user_id = ? AND a.correct = 0
               GROUP BY r.question_id ORDER BY last DESC, r.question_id""",
            (platform, workspace, user_id),
        )
        return [r["question_id"] for r in rows]

    # ---- mock interviews (bot/mocks.py) ------------------------------------------------

    def create_mock(self, member: Member, place: Place, level: str | None, plan: str, tier: int,
                    now: datetime) -> int | None:
        """The new mock's id, or None when the member has one open already (mocks_one_open)."""
        row = self.row(
            """INSERT INTO mocks (platform, workspace, channel, user_id, name, level, plan, tier, started_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id""",
            (place.platform, place.workspace, place.channel, member.user_id, member.name, level, plan, tier, iso(now)),
        )
        return row["id"] if row else None

    def open_mock(self, platform: str, workspace: str, user_id: str) -> Row | None:
        return self.row("SELECT * FROM mocks WHERE platform = ? AND workspace = ? AND user_id = ? AND ended_at IS NULL",
                        (platform, workspace, user_id))

    def mock(self, mock_id: int) -> Row | None:
        return self.row("SELECT * FROM mocks WHERE id = ?", (mock_id,))

    def mock_item_for_round(self, round_id: int) -> Row | None:
        return self.row("SELECT * FROM mock_items WHERE round_id = ?", (round_id,))

    def mock_items(self, mock_id: int) -> list[Row]:
        return self.rows("SELECT * FROM mock_items WHERE mock_id = ? ORDER BY position", (mock_id,))

    def add_mock_item(self, mock_id: int, position: int, question_id: str, round_id: int, asked_at: datetime,
                      deadline: datetime) -> None:
        self.db.execute(
            """INSERT INTO mock_items (mock_id, position, question_id, round_id, asked_at, deadline)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (mock_id, position, question_id, round_id, iso(asked_at), iso(deadline)),
        )
        self.db.execute("UPDATE mocks SET position = ? WHERE id = ?", (position, mock_id))

    def set_mock_result(self, mock_id: int, position: int, answered_at: datetime, correct: bool, score: float | None,
                        late: bool, found: list[bool] | None, choice: int | None) -> bool:
        """Record a question's result once; False when it was recorded already."""
        cursor = self.db.execute(
            """UPDATE mock_items SET answered_at = ?, correct = ?, score = ?, late = ?, found = ?, choice = ?
               WHERE mock_id = ? AND position = ? AND answered_at IS NULL""",
            (iso(answered_at), int(correct), score, int(late), json.dumps(found) if found is not None else None,
             choice, mock_id, position),
        )
        return cursor.rowcount == 1

    def set_mock_tier(self, mock_id: int, tier: int) -> None:
        self.db.execute("UPDATE mocks SET tier = ? WHERE id = ?", (tier, mock_id))

    def end_mock(self, mock_id: int, status: str, now: datetime) -> bool:
        """Close a mock once ("done" or "stopped"); False when it was closed already."""
        cursor = self.db.execute("UPDATE mocks SET status = ?, ended_at = ? WHERE id = ? AND ended_at IS NULL",
                                 (status, iso(now), mock_id))
        return cursor.rowcount == 1

    # ---- questions marked broken by admins (/quiz broken) ---------------------------------

    def broken_questions(self) -> dict[str, Row]:
        """question id -> its status row, for the questions marked broken."""
        return {r["question_id"]: r for r in self.rows("SELECT * FROM question_status WHERE status = 'broken'")}

    def set_question_status(self, question_id: str, status: str, reason: str | None, by: str | None,
                            now: datetime) -> None:
        self.db.execute(
            """INSERT INTO question_status (question_id, status, reason, at, marked_by) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (question_id) DO UPDATE SET status = excluded.status, reason = excluded.reason,
                   at = excluded.at, marked_by = excluded.marked_by""",
            (question_id, status, reason, iso(now), by),
        )

    # ---- notices for admins -----------------------------------------------------

    def add_notice(self, platform: str, workspace: str, text: str, now: datetime) -> None:
        exists = self.row(
            "SELECT id FROM notices WHERE platform = ? AND workspace = ? AND text = ? AND shown_at IS NULL",
            (platform, workspace, text),
        )
        if exists is None:
            self.db.execute(
                "INSERT INTO notices (platform, workspace, text, created_at) VALUES (?, ?, ?, ?)",
                (platform, workspace, text, iso(now)),
            )

    def take_notices(self, platform: str, workspace: str, now: datetime) -> list[str]:
        rows = self.rows(
            "SELECT id, text FROM notices WHERE platform = ? AND workspace = ? AND shown_at IS NULL ORDER BY id",
            (platform, workspace),
        )
        if rows:
            marks = ",".join("?" * len(rows))
            self.db.execute(f"UPDATE notices SET shown_at = ? WHERE id IN ({marks})",
                            (iso(now), *[r["id"] for r in rows]))
        return [r["text"] for r in rows]

    # ---- small key/value store ------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.row("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


    # ---- claims between replicas (several `studybot run` on one database) -------------------

    def claim_once(self, key: str, value: str = "claimed") -> bool:
        """True for the one caller that records `key` first, in any process; False for everyone after."""
        cursor = self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                                 (key, value))
        return cursor.rowcount == 1

    def claim(self, key: str, holder: str, now: datetime, seconds: float) -> bool:
        """Take the lease on `key` for `seconds`: True when it was free or had lapsed (a holder that died)."""
        cursor = self.db.execute(
            """INSERT INTO claims (key, holder, expires_at) VALUES (?, ?, ?)
               ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
               WHERE claims.expires_at <= ?""",
            (key, holder, iso(now + timedelta(seconds=seconds)), iso(now)),
        )
        return cursor.rowcount == 1

    def release(self, key: str, holder: str) -> None:
        """Give a lease back before it lapses (the work is done, or failed and may be retried by anyone)."""
        self.db.execute("DELETE FROM claims WHERE key = ? AND holder = ?", (key, holder))

    def sweep_claims(self, now: datetime) -> None:
        self.db.execute("DELETE FROM claims WHERE expires_at < ?", (iso(now),))

    def first_slack_event(self, event_id: str, now: datetime) -> bool:
        """True for the first replica that sees this Slack event id; False for a retry, wherever it lands."""
        cursor = self.db.execute(
            "INSERT INTO slack_events (event_id, seen_at) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING",
            (event_id, iso(now)),
        )
        return cursor.rowcount == 1

    def sweep_slack_events(self, before: datetime) -> None:
        self.db.execute("DELETE FROM slack_events WHERE seen_at < ?", (iso(before),))

    # ---- Slack installations (OAuth distribution) --------------------------------------------------

    def save_slack_installation(self, team_id: str, fields: Mapping[str, Any], installation: str, now: datetime
                                ) -> None:
        """A workspace installed (or reinstalled) the app: its token and ids, replacing any earlier ones."""
        self.db.execute(
            """INSERT INTO slack_installations (team_id, enterprise_id, team_name, bot_token, bot_user_id, bot_id,
                   bot_scopes, installer, installation, installed_at, uninstalled_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
               ON CONFLICT (team_id) DO UPDATE SET enterprise_id = excluded.enterprise_id,
                   team_name = excluded.team_name, bot_token = excluded.bot_token,
                   bot_user_id = excluded.bot_user_id, bot_id = excluded.bot_id, bot_scopes = excluded.bot_scopes,
                   installer = excluded.installer, installation = excluded.installation,
                   installed_at = excluded.installed_at, uninstalled_at = NULL""",
            (team_id, fields.get("enterprise_id"), fields.get("team_name"), fields.get("bot_token"),
             fields.get("bot_user_id"), fields.get("bot_id"), fields.get("bot_scopes"), fields.get("installer"),
             installation, iso(now)),
        )

    def slack_installation(self, team_id: str) -> Row | None:
        """The installation of a workspace where the app is installed now (None once uninstalled)."""
        return self.row("SELECT * FROM slack_installations WHERE team_id = ? AND uninstalled_at IS NULL", (team_id,))

    def slack_uninstalled(self, team_id: str, now: datetime) -> bool:
        """Forget the workspace's token (Slack revoked it); the row stays. False when it was not installed."""
        cursor = self.db.execute(
            """UPDATE slack_installations SET bot_token = NULL, uninstalled_at = ?
               WHERE team_id = ? AND uninstalled_at IS NULL""",
            (iso(now), team_id),
        )
        return cursor.rowcount == 1

def _settings(row: Row) -> ChannelSettings:
    return ChannelSettings(
        platform=row["platform"],
        workspace=row["workspace"],
        channel=row["channel"],
        daily_at=row["daily_at"],
        days=row["days"],
        timezone=row["timezone"],
        reveal_after=row["reveal_after"],
        weekly_at=row["weekly_at"],
        hidden_votes=bool(row["hidden_votes"]),
        open_questions=bool(row["open_questions"]),
        season=row.get("season"),
        remind_before=row.get("remind_before"),
        ping=row.get("ping"),
        mock_mc=row["mock_mc"],
        mock_open=row["mock_open"],
    )


def _ranked(rows: list[Row]) -> list[Standing]:
    """Competition ranking on points: equal points share a rank (1, 1, 3)."""
    standings: list[Standing] = []
    for position, row in enumerate(rows, 1):
        rank = standings[-1].rank if standings and standings[-1].points == row["points"] else position
        standings.append(Standing(rank=rank, **row))
    return standings
