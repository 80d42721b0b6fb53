"""Online backup and CSV export of the database; both safe while the bot runs.

SQLite: the backup is SQLite's online backup API. PostgreSQL: the backup is pg_dump's (run when it is on
PATH; otherwise its exact command is given). The CSV export reads through bot.db on either.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shlex
import shutil
import sqlite3
import subprocess
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
    "answers.csv": """SELECT a.id AS answer_id, a.round_id, r.kind AS round_kind, r.question_id, a.platform,
                          a.workspace,
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


def export_csv(database: Path | str, directory: Path, bank: Bank | None = None) -> list[tuple[Path, int]]:
    """Write one CSV per table of interest; answers gain the question's level and topic when the bank is known.

    `database`: the SQLite file or the postgresql:// URL. Rows stream through bot.db, a batch at a time.
    """
    from bot.db import connect

    directory.mkdir(parents=True, exist_ok=True)
    db = connect(database, timeout=30)
    written = []
    try:
        for name, sql in _EXPORTS.items():
            header, rows = db.stream(sql)
            extra = bank is not None and "question_id" in header and name == "answers.csv"
            path = directory / name
            count = 0
            with path.open("w", newline="", encoding="utf-8") as handle:
                out = csv.writer(handle)
                out.writerow(header + (["level", "topic"] if extra else []))
                for row in rows:
                    if extra and bank is not None:
                        question = bank.get(row[header.index("question_id")])
                        row = (*row, question.level if question else "", question.topic if question else "")
                    out.writerow([safe_cell(cell) for cell in row])
                    count += 1
            written.append((path, count))
    finally:
        db.close()
    return written


# ---- PostgreSQL: pg_dump ----------------------------------------------------------------------


def pg_dump_command(url: str, target: Path) -> list[str]:
    """pg_dump's command line for the database at `url`, into `target` (custom format, for pg_restore).

    The password is left out: pg_dump reads it from PGPASSWORD or ~/.pgpass.
    """
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts = {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None and k != "password"}
    command = ["pg_dump", "--format=custom", f"--file={target}"]
    for key, flag in (("host", "--host"), ("port", "--port"), ("user", "--username")):
        if key in parts:
            command.append(f"{flag}={parts.pop(key)}")
    dbname = parts.pop("dbname", None)
    if parts:  # sslmode and the like: only a connection string carries them
        dbname = make_conninfo(**({"dbname": dbname} if dbname else {}), **parts)
    if dbname:
        command.append(f"--dbname={dbname}")
    return command


def pg_dump_target(target: Path) -> Path:
    if target.is_dir():
        return target / f"studybot-{datetime.now(UTC):%Y%m%d-%H%M%S}.dump"
    return target


def backup_postgres(url: str, target: Path) -> Path:
    """Run pg_dump into a temporary file, then rename. BackupError (with the command to run) when it can't."""
    from bot.db import url_password

    target = pg_dump_target(target)
    partial = target.with_name(target.name + ".partial")
    command = pg_dump_command(url, partial)
    shown = shlex.join(pg_dump_command(url, target))
    executable = shutil.which("pg_dump")
    if executable is None:
        raise BackupError("pg_dump is not on PATH (Debian: apt-get install postgresql-client, of the server's major "
                          f"version or newer). Back up with:\n  {shown}\n(the password from PGPASSWORD or ~/.pgpass)")
    env = dict(os.environ)
    password = url_password(url)
    if password:
        env["PGPASSWORD"] = password  # not on the command line, where `ps` would show it
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([executable, *command[1:]], env=env, capture_output=True, text=True, timeout=24 * 3600)
    except (OSError, subprocess.SubprocessError) as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise BackupError(f"cannot run pg_dump: {error}\nThe command was:\n  {shown}") from None
    if done.returncode != 0:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        reason = done.stderr.strip().replace(password, "***") if password else done.stderr.strip()
        raise BackupError(f"pg_dump failed: {reason}\nThe command was:\n  {shown}")
    os.replace(partial, target)
    return target
