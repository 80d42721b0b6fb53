"""Online backup and CSV export of the database; both safe while the bot runs."""

from __future__ import annotations

import contextlib
import csv
import os
import sqlite3
from datetime import datetime
from pathlib import Path

from bot.clock import UTC
from bot.models import Bank


class BackupError(Exception):
    """A target the backup refuses or cannot write; the message says which and why."""


def live_files(db_path: Path) -> list[Path]:
    """The database and the two files SQLite keeps beside it in WAL mode, symlinks resolved."""
    return [Path(os.path.realpath(f"{db_path}{suffix}")) for suffix in ("", "-wal", "-shm")]


def _is_live(target: Path, db_path: Path) -> bool:
    real = Path(os.path.realpath(target))
    for live in live_files(db_path):
        if real == live:
            return True
        try:
            if target.exists() and live.exists() and os.path.samefile(target, live):  # hard links too
                return True
        except OSError:
            pass
    return False


def backup(db_path: Path, target: Path) -> Path:
    """Copy with SQLite's online backup API into a temporary file, then rename: a crash leaves no half file.

    Overwriting the live database (or its -wal/-shm) would leave the running bot
    writing to a deleted file, so such a target is refused before anything is touched.
    """
    if target.is_dir():
        target = target / f"studybot-{datetime.now(UTC):%Y%m%d-%H%M%S}.db"
    partial = target.with_name(target.name + ".partial")
    if _is_live(target, db_path) or _is_live(partial, db_path):
        raise BackupError(f"{target} is the live database ({db_path}) or one of its files; "
                          "choose another path for the backup")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy(db_path, partial)
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise BackupError(f"cannot write the backup to {target}: {error}") from None
    return target


def _copy(db_path: Path, partial: Path) -> None:
    source = sqlite3.connect(db_path, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=1024)
            copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        finally:
            copy.close()
    finally:
        source.close()


_EXPORTS = {
    "answers.csv": """SELECT a.id AS answer_id, a.round_id, r.kind AS round_kind, r.question_id, a.platform, a.workspace,
                          r.channel, a.user_id, a.name, a.choice, a.text, a.correct, a.score, a.points,
                          a.answered_at, a.written_at
                      FROM answers a JOIN rounds r ON r.id = a.round_id ORDER BY a.id""",
    "rounds.csv": """SELECT id AS round_id, platform, workspace, channel, kind, question_id, level, owner, daily_date,
                         posted_at, deadline, revealed_at FROM rounds ORDER BY id""",
    "weekly_scores.csv": "SELECT * FROM scores ORDER BY platform, workspace, week, points DESC",
    "members.csv": "SELECT * FROM members ORDER BY platform, workspace, points DESC",
}


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A cell no spreadsheet runs as a formula: text starting with = + - @ tab or CR gets a leading quote.

    Numbers stay as they are, including negative ones stored as text ("-3", "-0.5").
    """
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


def export_csv(db_path: Path, directory: Path, bank: Bank | None = None) -> list[tuple[Path, int]]:
    """Write one CSV per table of interest; answers gain the question's level and topic when the bank is known."""
    directory.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, timeout=30)
    written = []
    try:
        for name, sql in _EXPORTS.items():
            cursor = conn.execute(sql)
            header = [d[0] for d in cursor.description]
            extra = bank is not None and "question_id" in header and name == "answers.csv"
            path = directory / name
            count = 0
            with path.open("w", newline="", encoding="utf-8") as handle:
                out = csv.writer(handle)
                out.writerow(header + (["level", "topic"] if extra else []))
                for row in cursor:
                    if extra:
                        question = bank.get(row[header.index("question_id")])
                        row = (*row, question.level if question else "", question.topic if question else "")
                    out.writerow([safe_cell(cell) for cell in row])
                    count += 1
            written.append((path, count))
    finally:
        conn.close()
    return written
