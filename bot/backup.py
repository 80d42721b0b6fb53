"""Online backup and CSV export of the database; both safe while the bot runs."""

from __future__ import annotations

import csv
import os
import sqlite3
from datetime import datetime
from pathlib import Path

from bot.clock import UTC
from bot.models import Bank


def backup(db_path: Path, target: Path) -> Path:
    """Copy with SQLite's online backup API into a temporary file, then rename: a crash leaves no half file."""
    if target.is_dir():
        target = target / f"studybot-{datetime.now(UTC):%Y%m%d-%H%M%S}.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
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
    os.replace(partial, target)
    return target


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
                    out.writerow(row)
                    count += 1
            written.append((path, count))
    finally:
        conn.close()
    return written
