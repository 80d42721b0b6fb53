"""The command line: bad settings and banks stop the start; check, grade, leaderboard, backup, export."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys

import pytest

from bot import __version__
from bot.config import ConfigError, load_settings, parse_duration
from bot.grading import grade_question
from bot.questions import load_bank
from tests.cli_runner import studybot
from tests.conftest import DATA
from tests.console_process import console_env


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("STUDYBOT_TIMEZONE", "Mars/Olympus", "not an IANA time zone"),
        ("STUDYBOT_DAILY_AT", "9am", "not a time of day"),
        ("STUDYBOT_DAILY_DAYS", "weekdays", "not a day list"),
        ("STUDYBOT_REVEAL_AFTER", "soon", "not a duration"),
        ("STUDYBOT_WEEKLY_AT", "monday", "not a day and time"),
        ("PORT", "99999", "not a port"),
        ("SLACK_BOT_TOKEN", "xoxb-secret-value-123", "SLACK_SIGNING_SECRET"),
        ("DISCORD_API_URL", "discord.com", "must start with"),
    ],
)
def test_bad_setting_exits_2_naming_it_and_writes_nothing(tmp_path, setting, value, words):
    result = studybot(tmp_path, "run", **{setting: value})
    assert result.returncode == 2
    assert words in result.stderr
    assert "secret-value" not in result.stderr
    assert not (tmp_path / "studybot.db").exists()


def test_bad_bank_exits_2_with_line_and_writes_nothing(tmp_path):
    bank = tmp_path / "bank.yaml"
    bank.write_text((DATA / "mini_bank.yaml").read_text().replace("correct: 2", "correct: 7", 1))
    result = studybot(tmp_path, "run", STUDYBOT_QUESTIONS=str(bank))
    assert result.returncode == 2
    assert f"{bank}:" in result.stderr and "correct is 7, out of range 1..4" in result.stderr
    assert not (tmp_path / "studybot.db").exists()


def test_dotenv_file_is_read_and_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("STUDYBOT_TIMEZONE=Europe/Berlin\nSTUDYBOT_REVEAL_AFTER=10m\n")
    settings = load_settings({"STUDYBOT_REVEAL_AFTER": "30s"}, dotenv)
    assert settings.timezone == "Europe/Berlin" and settings.reveal_after == 30
    with pytest.raises(ConfigError) as error:
        load_settings({"SLACK_APP_TOKEN": "xoxb-wrong-kind"}, None)
    assert error.value.setting == "SLACK_APP_TOKEN" and "xoxb-wrong" not in str(error.value)


def test_durations():
    assert [parse_duration(t) for t in ("30s", "10m", "8h", "1h30m", "2d")] == [30, 600, 28800, 5400, 172800]
    for bad in ("", "0s", "8", "h", "8 hours", "30d"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_check_shipped_bank_prints_counts(tmp_path):
    result = studybot(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    assert "questions, OK" in result.stdout and "levels: basic" in result.stdout and "topics:" in result.stdout


def test_check_lists_every_error_with_line(tmp_path):
    bank = tmp_path / "bank.yaml"
    text = (DATA / "mini_bank.yaml").read_text()
    bank.write_text(text.replace("level: advanced", "level: expert", 1).replace("correct: 1", "correct: 0", 1))
    result = studybot(tmp_path, "check", str(bank))
    assert result.returncode == 2
    assert "2 problems" in result.stderr
    assert "level 'expert' is not one of the declared levels" in result.stderr
    assert "correct is 0, out of range" in result.stderr


def test_grade_reports_score_and_key_points(tmp_path):
    bank = str(DATA / "mini_bank.yaml")
    text = "Humans rank outputs and a reward model learns their preferences"
    result = studybot(tmp_path, "grade", "a1", text, STUDYBOT_QUESTIONS=bank)
    assert result.returncode == 0, result.stderr
    expected = grade_question(text, load_bank(DATA / "mini_bank.yaml").get("a1"))
    assert f"score: {expected.score:.2f}  ({expected.verdict}; 2/3 key points" in result.stdout
    assert "[x] humans rank outputs" in result.stdout and "[ ] policy optimised against reward" in result.stdout
    piped = studybot(tmp_path, "grade", "a1", stdin="nothing relevant", STUDYBOT_QUESTIONS=bank)
    assert "score: 0.00" in piped.stdout
    unknown = studybot(tmp_path, "grade", "a9", "text", STUDYBOT_QUESTIONS=bank)
    assert unknown.returncode == 2 and "no question with id 'a9'" in unknown.stderr


def test_version_and_help(tmp_path):
    assert studybot(tmp_path, "--version").stdout.strip() == f"studybot {__version__}"
    help_text = studybot(tmp_path, "--help").stdout
    for command in ("run", "check", "grade", "leaderboard", "backup", "export"):
        assert command in help_text
    assert studybot(tmp_path).returncode == 2


def _played_db(tmp_path):
    """A database with one scored channel round, made by a real console session."""
    script = "/quiz post\n/as alice\n1\n/as bob\n2\n/as carol\n3\n/as dan\n4\n/wait 2.5\n"
    result = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, input=script, text=True,
                            capture_output=True, timeout=60,
                            env=console_env(tmp_path, STUDYBOT_REVEAL_AFTER="2s"))
    assert result.returncode == 0, result.stderr
    assert "─── Answer" in result.stdout


def test_leaderboard_backup_and_export(tmp_path):
    assert "No database yet" in studybot(tmp_path, "leaderboard").stdout
    _played_db(tmp_path)
    board = studybot(tmp_path, "leaderboard", "--all")
    assert board.returncode == 0
    assert "console / local (all time)" in board.stdout
    assert sum(line.split()[1:2] in (["alice"], ["bob"], ["carol"], ["dan"]) for line in board.stdout.splitlines()) == 4
    assert " 10 " in board.stdout

    backup = studybot(tmp_path, "backup", str(tmp_path / "backups" / "copy.db"))
    assert backup.returncode == 0, backup.stderr
    with sqlite3.connect(tmp_path / "backups" / "copy.db") as copy:
        assert copy.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 4
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    export = studybot(tmp_path, "export", "--csv", str(tmp_path / "out"))
    assert export.returncode == 0, export.stderr
    with open(tmp_path / "out" / "answers.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["name"] for r in rows) == ["alice", "bob", "carol", "dan"]
    assert sum(int(r["points"]) for r in rows) == 10 and all(r["level"] and r["topic"] for r in rows)
    assert (tmp_path / "out" / "weekly_scores.csv").exists()


def test_backup_without_database_is_a_clear_error(tmp_path):
    result = studybot(tmp_path, "backup", str(tmp_path / "copy.db"))
    assert result.returncode == 2 and "no database" in result.stderr
