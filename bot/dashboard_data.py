"""What the dashboard pages show, read from the store with bounded, indexed queries.

Every page reads a fixed amount whatever the team's size: the boards a page of 50 at a time (on the
leaderboard indexes), the archive 10 rounds at a time (on the partial index rounds_archive), the heatmap from
round_tallies (one row per revealed channel round, written here the first time a round is shown: its counts
never change after the reveal), and a member page one member's answers. The SQL is the dialect SQLite and
PostgreSQL share, run through the store's rows/row and its database's execute.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.clock import Clock, iso, local_date, parse_iso, week_of, week_start
from bot.db import Row
from bot.models import Bank, ChannelSettings, Question, Standing
from bot.seasons import label, season_key
from bot.stats import MIN_ANSWERS_FOR_WEAKNESS, Tally
from bot.store import Store

BOARD_PAGE = 50
ROUNDS_PAGE = 10
RIGHT_LISTED = 12  # names listed under a past round before "and N more"
HEATMAP_WEEKS = 12
MEMBER_WEEKS = 12
WEAKEST_LISTED = 5
MAX_PAGE = 100_000  # a page number past this is not a real page (and keeps OFFSET bounded)
# rounds_archive's WHERE, repeated word for word so that the planner uses it (plain, and for the alias r)
CHANNEL = "kind IN ('daily', 'post') AND revealed_at IS NOT NULL"
CHANNEL_R = "r.kind IN ('daily', 'post') AND r.revealed_at IS NOT NULL"

SettingsFor = Callable[[str, str], ChannelSettings]


def pages_for(total: int, size: int) -> int:
    return max(1, math.ceil(total / size))


@dataclass(frozen=True)
class BoardPage:
    scope: str  # "week", "season" or "all"
    period: str  # what the scope covers, in words: "week of 2026-11-23", "all time"
    rows: list[Standing]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class PastRound:
    id: int
    day: date
    kind: str
    level: str
    question: Question | None  # None: no longer in the bank
    answered: int
    correct: int
    written: int
    picks: list[int]  # how many picked choice 1, 2, ...
    right: list[str]  # the first RIGHT_LISTED names of those who got it right, by name
    right_more: int  # how many more got it right


@dataclass(frozen=True)
class ArchivePage:
    rounds: list[PastRound]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class HeatRow:
    topic: str
    cells: list[Tally | None]  # one per week of Heatmap.weeks; None: not asked that week
    total: Tally


@dataclass(frozen=True)
class Heatmap:
    weeks: list[date]  # Mondays, oldest first
    rows: list[HeatRow]  # weakest topic first
    total: Tally


@dataclass(frozen=True)
class WeekBar:
    week: date
    answered: int
    correct: int


@dataclass
class MemberPage:
    user_id: str
    name: str
    points: int = 0
    streak: int = 0
    best_streak: int = 0
    rank_all: Standing | None = None
    rank_week: Standing | None = None
    total: Tally = field(default_factory=Tally)
    weeks: list[WeekBar] = field(default_factory=list)
    weakest: list[tuple[str, Tally]] = field(default_factory=list)
    by_level: list[tuple[str, Tally]] = field(default_factory=list)
    due: int = 0
    next_due: datetime | None = None


def _ranked(rows: list[Row], count_ahead: Callable[[int], int], offset: int) -> list[Standing]:
    """Competition ranking (1, 1, 3) across pages: the first row's rank is 1 + how many have more points."""
    out: list[Standing] = []
    for position, row in enumerate(rows, offset + 1):
        if not out:
            rank = count_ahead(row["points"]) + 1
        elif out[-1].points == row["points"]:
            rank = out[-1].rank
        else:
            rank = position
        out.append(Standing(rank=rank, user_id=row["user_id"], name=row["name"], points=row["points"],
                            correct=row["correct"], answered=row["answered"], streak=row["streak"]))
    return out


class DashboardData:
    def __init__(self, store: Store, bank: Bank, settings_for: SettingsFor, clock: Clock) -> None:
        self.store = store
        self.bank = bank
        self.settings_for = settings_for
        self.clock = clock

    def _spread(self, sql: str, params: Sequence[Any]) -> dict[int, int]:
        """points -> how many members have them: one pass over the board's index gives both the board's size
        and any member's rank (1 + how many have more points)."""
        return {row["points"]: row["n"] for row in self.store.rows(sql, params)}

    def _n(self, sql: str, params: Sequence[Any]) -> int:
        """The n of a COUNT(*) AS n query."""
        row = self.store.row(sql, params)
        return int(row["n"]) if row else 0

    def timezone(self, platform: str, workspace: str) -> str:
        return self.settings_for(platform, workspace).timezone

    # ---- leaderboard -----------------------------------------------------------------------

    def season(self, platform: str, workspace: str) -> str | None:
        """The current season's key ("2026-11", "2026-Q4"; bot/seasons.py), or None while the workspace has
        seasons off (`/quiz setup season=monthly|quarterly|off`)."""
        s = self.settings_for(platform, workspace)
        if s.season not in ("monthly", "quarterly"):
            return None
        return season_key(self.clock(), s.timezone, s.season)

    def board(self, platform: str, workspace: str, scope: str, page: int) -> BoardPage:
        """A page of the board: two passes over members_board (or scores_board, season_scores_board) at most, whatever
        the page. One counts members per points (the size, and the first row's rank); the other finds the page's ids
        (a deep OFFSET walks the index, not the table); then the page's 50 rows are read.

        Scope "season" while seasons are off gives an empty page of period "this season" (the page says they are off).
        """
        page = min(max(page, 1), MAX_PAGE)
        offset = (page - 1) * BOARD_PAGE
        key = (platform, workspace)
        if scope == "season":
            season = self.season(platform, workspace)
            if season is None:
                return BoardPage("season", "this season", [], 1, 1, 0)
            spread = self._spread("SELECT points, COUNT(*) AS n FROM season_scores WHERE platform = ? "
                                  "AND workspace = ? AND season = ? GROUP BY points", (*key, season))
            rows = self.store.rows(
                """SELECT s.user_id, s.name, s.points, s.correct, s.answered, COALESCE(m.streak, 0) AS streak
                   FROM (SELECT user_id FROM season_scores WHERE platform = ? AND workspace = ? AND season = ?
                         ORDER BY points DESC, correct DESC, name, user_id LIMIT ? OFFSET ?) page
                   JOIN season_scores s ON s.platform = ? AND s.workspace = ? AND s.season = ?
                        AND s.user_id = page.user_id
                   LEFT JOIN members m ON m.platform = s.platform AND m.workspace = s.workspace
                        AND m.user_id = s.user_id
                   ORDER BY s.points DESC, s.correct DESC, s.name, s.user_id""",
                (*key, season, BOARD_PAGE, offset, *key, season))
            period = f"season {label(season)}"
        elif scope == "week":
            week = week_of(self.clock(), self.timezone(platform, workspace))
            spread = self._spread("SELECT points, COUNT(*) AS n FROM scores WHERE platform = ? AND workspace = ? "
                                  "AND week = ? GROUP BY points", (*key, week))
            rows = self.store.rows(
                """SELECT s.user_id, s.name, s.points, s.correct, s.answered, COALESCE(m.streak, 0) AS streak
                   FROM (SELECT user_id FROM scores WHERE platform = ? AND workspace = ? AND week = ?
                         ORDER BY points DESC, correct DESC, name, user_id LIMIT ? OFFSET ?) page
                   JOIN scores s ON s.platform = ? AND s.workspace = ? AND s.week = ? AND s.user_id = page.user_id
                   LEFT JOIN members m ON m.platform = s.platform AND m.workspace = s.workspace
                        AND m.user_id = s.user_id
                   ORDER BY s.points DESC, s.correct DESC, s.name, s.user_id""",
                (*key, week, BOARD_PAGE, offset, *key, week))
            period = f"week of {week}"
        else:
            spread = self._spread("SELECT points, COUNT(*) AS n FROM members WHERE platform = ? AND workspace = ? "
                                  "GROUP BY points", key)
            rows = self.store.rows(
                """SELECT m.user_id, m.name, m.points, m.correct, m.answered, m.streak
                   FROM (SELECT user_id FROM members WHERE platform = ? AND workspace = ?
                         ORDER BY points DESC, correct DESC, name, user_id LIMIT ? OFFSET ?) page
                   JOIN members m ON m.platform = ? AND m.workspace = ? AND m.user_id = page.user_id
                   ORDER BY m.points DESC, m.correct DESC, m.name, m.user_id""",
                (*key, BOARD_PAGE, offset, *key))
            scope, period = "all", "all time"
        total = sum(spread.values())

        def ahead(points: int) -> int:
            return sum(n for p, n in spread.items() if p > points)

        return BoardPage(scope, period, _ranked(rows, ahead, offset), page, pages_for(total, BOARD_PAGE), total)

    # ---- past rounds ---------------------------------------------------------------------

    def archive(self, platform: str, workspace: str, page: int) -> ArchivePage:
        page = min(max(page, 1), MAX_PAGE)
        key = (platform, workspace)
        total = self._n(f"SELECT COUNT(*) AS n FROM rounds WHERE platform = ? AND workspace = ? AND {CHANNEL}", key)
        rows = self.store.rows(
            f"""SELECT id, kind, question_id, level, posted_at, timezone FROM rounds
                WHERE platform = ? AND workspace = ? AND {CHANNEL} ORDER BY id DESC LIMIT ? OFFSET ?""",
            (*key, ROUNDS_PAGE, (page - 1) * ROUNDS_PAGE))
        tallies = self.tallies([r["id"] for r in rows])
        out = []
        for r in rows:
            tally = tallies[r["id"]]
            right = [a["name"] for a in self.store.rows(
                "SELECT name FROM answers WHERE round_id = ? AND correct = 1 ORDER BY name LIMIT ?",
                (r["id"], RIGHT_LISTED))]
            out.append(PastRound(
                id=r["id"], day=local_date(parse_iso(r["posted_at"]), r["timezone"]), kind=r["kind"], level=r["level"],
                question=self.bank.get(r["question_id"]), answered=tally["answered"], correct=tally["correct"],
                written=tally["written"], picks=tally["picks"], right=right,
                right_more=max(0, tally["correct"] - len(right))))
        return ArchivePage(out, page, pages_for(total, ROUNDS_PAGE), total)

    def tallies(self, round_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """round id -> its counts (answered, correct, written, picks), counted once and kept in round_tallies.

        Only for revealed channel rounds: their answers no longer change.
        """
        if not round_ids:
            return {}
        found = self._read_tallies(round_ids)
        missing = [i for i in round_ids if i not in found]
        if missing:
            self._count(missing)
            found.update(self._read_tallies(missing))
        return found

    def _read_tallies(self, round_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for chunk in _chunks(round_ids):
            marks = ",".join("?" * len(chunk))
            for row in self.store.rows(f"SELECT * FROM round_tallies WHERE round_id IN ({marks})", chunk):
                out[row["round_id"]] = {**row, "picks": json.loads(row["picks"])}
        return out

    def _count(self, round_ids: Sequence[int]) -> None:
        for chunk in _chunks(round_ids):
            marks = ",".join("?" * len(chunk))
            counts: dict[int, dict[str, Any]] = {
                i: {"answered": 0, "correct": 0, "written": 0, "picks": {}} for i in chunk
            }
            asked = {r["id"]: self.bank.get(r["question_id"]) for r in self.store.rows(
                f"SELECT id, question_id FROM rounds WHERE id IN ({marks})", chunk)}
            for row in self.store.rows(
                    f"""SELECT round_id, choice, COUNT(*) AS n, SUM(CASE WHEN correct = 1 THEN 1 ELSE 0 END) AS c,
                               COUNT(text) AS w
                        FROM answers WHERE round_id IN ({marks}) GROUP BY round_id, choice""", chunk):
                tally = counts[row["round_id"]]
                tally["answered"] += row["n"]
                tally["correct"] += row["c"] or 0
                tally["written"] += row["w"]
                if row["choice"] is not None:
                    tally["picks"][row["choice"]] = row["n"]
            with self.store.transaction() as db:
                for round_id, tally in counts.items():
                    question = asked.get(round_id)
                    width = max(len(question.choices) if question else 0, max(tally["picks"], default=0))
                    picks = [tally["picks"].get(i, 0) for i in range(1, width + 1)]
                    db.execute(
                        """INSERT INTO round_tallies (round_id, answered, correct, written, picks)
                           VALUES (?, ?, ?, ?, ?)
                           ON CONFLICT (round_id) DO NOTHING""",
                        (round_id, tally["answered"], tally["correct"], tally["written"], json.dumps(picks)))

    def catch_up(self, platform: str, workspace: str) -> None:
        """Count every revealed channel round of the workspace not counted yet (at most a few a day)."""
        rows = self.store.rows(
            f"""SELECT r.id FROM rounds r WHERE r.platform = ? AND r.workspace = ? AND {CHANNEL_R}
                AND NOT EXISTS (SELECT 1 FROM round_tallies t WHERE t.round_id = r.id)""",
            (platform, workspace))
        if rows:
            self._count([r["id"] for r in rows])

    async def warm_up(self, step: int = 5) -> int:
        """Count every workspace's uncounted rounds, `step` rounds at a time, yielding to the event loop in between
        (a step of 5 rounds of 2,000 answers holds the loop about 10 ms).

        Run in the background when the server starts, so that the first heatmap after an upgrade does not count a
        year of answers while someone waits (0.8 s at 100,000 members); a page shown before it is done counts
        what it needs itself. Returns how many rounds it counted.
        """
        rows = self.store.rows(f"""SELECT r.id FROM rounds r WHERE {CHANNEL_R}
                                   AND NOT EXISTS (SELECT 1 FROM round_tallies t WHERE t.round_id = r.id)""")
        ids = [r["id"] for r in rows]
        for start in range(0, len(ids), step):
            self._count(ids[start:start + step])
            await asyncio.sleep(0)
        return len(ids)

    # ---- weak topics ---------------------------------------------------------------------

    def heatmap(self, platform: str, workspace: str, weeks: int = HEATMAP_WEEKS) -> Heatmap:
        """Accuracy per topic in each of the last `weeks` weeks (the workspace's weeks), and over all time."""
        self.catch_up(platform, workspace)
        tz = self.timezone(platform, workspace)
        this_week = week_start(local_date(self.clock(), tz))
        columns = [this_week - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
        index = {monday: i for i, monday in enumerate(columns)}
        cells: dict[str, list[Tally | None]] = {}
        totals: dict[str, Tally] = defaultdict(Tally)
        overall = Tally()
        for row in self.store.rows(
                f"""SELECT r.question_id, r.posted_at, t.answered, t.correct FROM rounds r
                    JOIN round_tallies t ON t.round_id = r.id
                    WHERE r.platform = ? AND r.workspace = ? AND {CHANNEL_R}""",
                (platform, workspace)):
            question = self.bank.get(row["question_id"])
            if question is None or not row["answered"]:
                continue
            tally = Tally(row["answered"], row["correct"])
            _add(totals[question.topic], tally)
            _add(overall, tally)
            column = index.get(week_start(local_date(parse_iso(row["posted_at"]), tz)))
            if column is not None:
                line = cells.setdefault(question.topic, [None] * weeks)
                line[column] = _add(line[column] or Tally(), tally)
        rows = [HeatRow(topic, cells.get(topic, [None] * weeks), total) for topic, total in totals.items()]
        rows.sort(key=lambda r: (r.total.accuracy, -r.total.answered, r.topic))
        return Heatmap(columns, rows, overall)

    # ---- a member -------------------------------------------------------------------------

    def member(self, platform: str, workspace: str, user_id: str) -> MemberPage | None:
        """A member's page, or None when the workspace has never seen them."""
        key = (platform, workspace, user_id)
        totals = self.store.row("SELECT * FROM members WHERE platform = ? AND workspace = ? AND user_id = ?", key)
        answers = self.store.rows(
            """SELECT r.question_id, a.correct, a.answered_at, a.name FROM answers a JOIN rounds r ON r.id = a.round_id
               WHERE a.platform = ? AND a.workspace = ? AND a.user_id = ? AND a.correct IS NOT NULL
               ORDER BY a.answered_at""", key)
        if totals is None and not answers:
            return None
        name = totals["name"] if totals else answers[-1]["name"]
        page = MemberPage(user_id, name)
        if totals:
            page.points, page.streak, page.best_streak = totals["points"], totals["streak"], totals["best_streak"]
            page.rank_all = self.store.standing_of(platform, workspace, None, user_id)
        tz = self.timezone(platform, workspace)
        now = self.clock()
        page.rank_week = self.store.standing_of(platform, workspace, week_of(now, tz), user_id)
        this_week = week_start(local_date(now, tz))
        first = this_week - timedelta(weeks=MEMBER_WEEKS - 1)
        per_week: dict[date, Tally] = defaultdict(Tally)
        by_topic: dict[str, Tally] = defaultdict(Tally)
        by_level: dict[str, Tally] = defaultdict(Tally)
        for row in answers:
            correct = bool(row["correct"])
            page.total.add(correct)
            monday = week_start(local_date(parse_iso(row["answered_at"]), tz))
            if monday >= first:
                per_week[monday].add(correct)
            question = self.bank.get(row["question_id"])
            if question is not None:
                by_topic[question.topic].add(correct)
                by_level[question.level].add(correct)
        page.weeks = [WeekBar(m, per_week[m].answered, per_week[m].correct)
                      for m in (first + timedelta(weeks=i) for i in range(MEMBER_WEEKS))]
        weak = [(t, tally) for t, tally in by_topic.items()
                if tally.answered >= MIN_ANSWERS_FOR_WEAKNESS and tally.accuracy < 1.0]
        weak.sort(key=lambda item: (item[1].accuracy, -item[1].answered, item[0]))
        page.weakest = weak[:WEAKEST_LISTED]
        page.by_level = [(level, by_level[level]) for level in self.bank.levels if level in by_level]
        due = self.store.rows(
            "SELECT question_id FROM cards WHERE platform = ? AND workspace = ? AND user_id = ? AND due <= ?",
            (*key, iso(now)))
        page.due = sum(1 for c in due if self.bank.get(c["question_id"]))  # as /quiz review counts them
        page.next_due = self.store.next_due(platform, workspace, user_id)
        return page


def _add(into: Tally, other: Tally) -> Tally:
    into.answered += other.answered
    into.correct += other.correct
    return into


def _chunks(items: Sequence[int], size: int = 500) -> list[list[int]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]
