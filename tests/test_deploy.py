"""What a new team meets first: settings from a copied .env.example, backups next to a running bot,
CSV exports opened in a spreadsheet, several processes on one database, and the console itself."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.console import ConsoleAdapter
from bot.backup import safe_cell
from bot.charts import MAX_TOPICS, progress_figure
from bot.config import Settings, load_settings
from bot.models import ChannelSettings
from bot.stats import Record
from tests.conftest import REPO
from tests.console_process import ConsoleProcess, console_env


def studybot(cwd: Path, *args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


# ---- settings ------------------------------------------------------------------------------------


def test_an_empty_value_takes_the_default_and_an_empty_schedule_is_off():
    empty = {name: "" for name in ("STUDYBOT_DB", "STUDYBOT_QUESTIONS", "STUDYBOT_TIMEZONE", "STUDYBOT_DAILY_DAYS",
                                   "STUDYBOT_REVEAL_AFTER", "STUDYBOT_HTTP_PORT", "PORT", "DISCORD_API_URL",
                                   "STUDYBOT_LOG_JSON", "DISCORD_TOKEN", "SLACK_BOT_TOKEN")}
    settings = load_settings(empty | {"STUDYBOT_DAILY_AT": "", "STUDYBOT_WEEKLY_AT": "off"}, None)
    defaults = Settings()
    assert settings.db_path == defaults.db_path and settings.questions_path == defaults.questions_path
    assert settings.questions_path.is_file()
    got = (settings.timezone, settings.reveal_after, settings.port, settings.http_port)
    assert got == ("UTC", 8 * 3600, 3000, None)
    assert settings.daily_at is None and settings.weekly_at is None
    assert settings.platforms == ["console"]
    assert load_settings({"STUDYBOT_DAILY_AT": "OFF"}, None).daily_at is None
    assert load_settings({}, None).daily_at == "09:00"


def test_an_empty_environment_value_does_not_hide_the_dotenv_value(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("STUDYBOT_TIMEZONE=Europe/Berlin\nSTUDYBOT_DAILY_AT=10:15\n")
    settings = load_settings({"STUDYBOT_TIMEZONE": "", "STUDYBOT_DAILY_AT": ""}, dotenv)
    assert settings.timezone == "Europe/Berlin"  # empty counts as unset
    assert settings.daily_at is None  # but an empty schedule is a choice: off


def test_env_example_lists_every_setting_with_a_comment():
    from bot.config import _PARSERS

    lines = (REPO / ".env.example").read_text().splitlines()
    for setting in _PARSERS:
        at = [i for i, line in enumerate(lines) if line.lstrip("# ").startswith(f"{setting}=")]
        assert at, f"{setting} is missing from .env.example"
        comment = lines[at[0] - 1]
        assert comment.startswith("# ") and "=" not in comment.split()[1], f"{setting} has no comment line above it"


def test_a_copy_of_env_example_starts_the_console(tmp_path):
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    env = {k: v for k, v in console_env(tmp_path).items() if not k.startswith("STUDYBOT_")}
    result = studybot(tmp_path, "run", env=env, stdin="/quiz help\n")
    assert result.returncode == 0, result.stderr
    assert "studybot console" in result.stdout and "/quiz leaderboard" in result.stdout
    assert (tmp_path / "studybot.db").exists()  # the default database, in the working directory


# ---- backup --------------------------------------------------------------------------------------


def test_backup_refuses_the_live_database_while_the_bot_runs(tmp_path):
    env = console_env(tmp_path)
    (tmp_path / "link.db").symlink_to(tmp_path / "studybot.db")
    with ConsoleProcess(env, tmp_path) as bot:
        bot.expect("studybot console")
        bot.send("/quiz post")
        bot.expect("Answer with a number")
        bot.send("1")
        bot.expect("locked in")
        for target in ("studybot.db", str(tmp_path / "studybot.db"), "./sub/../studybot.db", "link.db",
                       "studybot.db-wal", "studybot.db-shm"):
            (tmp_path / "sub").mkdir(exist_ok=True)
            result = studybot(tmp_path, "backup", target, env=env)
            assert result.returncode == 2, (target, result.stdout)
            assert "is the live database" in result.stderr and "Traceback" not in result.stderr
        bot.send("/as second")
        bot.send("2")
        bot.expect("locked in")
        assert bot.close() == 0
    with sqlite3.connect(tmp_path / "studybot.db") as conn:  # nothing was lost, before or after the refusals
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 2
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_backup_to_an_unwritable_place_is_a_clear_error(tmp_path):
    env = console_env(tmp_path)
    with ConsoleProcess(env, tmp_path) as bot:
        bot.expect("studybot console")
        (tmp_path / "a-file").write_text("not a folder")
        result = studybot(tmp_path, "backup", str(tmp_path / "a-file" / "copy.db"), env=env)
        assert result.returncode == 2
        assert "cannot write the backup" in result.stderr and "Traceback" not in result.stderr
        assert (tmp_path / "a-file").read_text() == "not a folder"
        assert bot.close() == 0


# ---- CSV -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "safe"), [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"), ("+1+2", "'+1+2"), ("-cmd|x", "'-cmd|x"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tlead", "'\tlead"), ("\rlead", "'\rlead"), ("plain", "plain"),
    ("-3", "-3"), ("-0.5", "-0.5"), ("+7", "+7"), (-4, -4), (2.5, 2.5), (None, None),
])
def test_cells_that_spreadsheets_would_run_are_neutralised(cell, safe):
    assert safe_cell(cell) == safe


def test_export_neutralises_hostile_names_and_answers(tmp_path):
    script = ("/quiz post\n/as =HYPERLINK(\"http://x\",\"y\")\n1\n/as @evil\n=1+2 is my answer\n"
              "/as +plus\n-2+3 means nothing\n")
    env = console_env(tmp_path)
    played = studybot(tmp_path, "run", env=env, stdin=script)
    assert played.returncode == 0, played.stderr
    export = studybot(tmp_path, "export", "--csv", str(tmp_path / "out"), env=env)
    assert export.returncode == 0, export.stderr
    with open(tmp_path / "out" / "answers.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    cells = [value for row in rows for value in row.values() if value]
    assert cells and not [c for c in cells if c[0] in "=+-@\t\r" and not _number(c)]
    assert any(c.startswith("'=HYPERLINK") for c in cells) and any(c.startswith("'=1+2") for c in cells)
    assert all(_number(row["points"]) for row in rows)  # plain numbers stay numbers


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# ---- several processes on one database ------------------------------------------------------------


# Imports first, then every process opens the database at the same instant: the race a cold start has.
_AT_ONCE = """import sys, time
import bot.cli, bot.runtime, bot.store, adapters.console
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
sys.exit(bot.cli.main(["run"]))"""


def test_three_processes_started_together_all_come_up(tmp_path):
    env = console_env(tmp_path)
    for _attempt in range(2):  # cold starts on a database not yet made
        for old in tmp_path.glob("studybot.db*"):
            old.unlink()
        at = str(time.time() + 2.0)
        procs = [subprocess.Popen([sys.executable, "-c", _AT_ONCE, at], cwd=tmp_path, env=env, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(3)]
        results = [proc.communicate("/quiz leaderboard\n", timeout=60) for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0, 0], [err for _, err in results]
        assert all("studybot console" in out for out, _ in results)
        with sqlite3.connect(tmp_path / "studybot.db") as conn:
            versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
            assert versions and len(versions) == len(set(versions))  # each migration applied exactly once


# ---- the console ---------------------------------------------------------------------------------


def test_console_help_rounds_and_next_daily(tmp_path):
    # Three hours ahead in Berlin: a daily time already past today would be posted at start (caught up).
    daily = f"{datetime.now(ZoneInfo('Europe/Berlin')) + timedelta(hours=3):%H:%M}"
    env = console_env(tmp_path, STUDYBOT_DAILY_AT=daily, STUDYBOT_TIMEZONE="Europe/Berlin", STUDYBOT_DAILY_DAYS="*")
    result = studybot(tmp_path, "run", env=env, stdin="/quiz advanced\n/quiz post\n/help\n/quiz help\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Next daily question: " in out and f"{daily} Europe/Berlin" in out
    assert "[round 1]" in out and "[round 2]" not in out  # the private question is not counted as a round
    assert "Console only: `/as NAME`" in out  # /help shows the command help, then the console's own commands
    assert out.count("- `/quiz leaderboard") == 2
    # The help says how to answer in the console, which has neither reactions nor threads. Only the help is
    # checked: the day's random question may well mention ReAct agents or threads.
    help_block = out[out.index("studybot posts an LLM"):out.index("Console only")].lower()
    assert "typing its number" in help_block
    assert "react" not in help_block and "thread" not in help_block
    off = studybot(tmp_path, "run", env=console_env(tmp_path), stdin="")
    assert "The daily question is off" in off.stdout


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_console_prompt_shows_who_you_are_at_a_terminal(tmp_path):
    class Hub:  # the part of bot.ports.Hub the console uses
        def register_channel(self, platform, workspace, channel):
            return ChannelSettings(platform, workspace, channel, None, "mon-fri", "UTC", 60, None)

        def current_round(self, member, place):
            return None

        async def run(self, event, reply=None):
            return None

    out = Terminal()
    adapter = ConsoleAdapter(Settings(db_path=tmp_path / "x.db"), stdin=Terminal("/as sam\n"), stdout=out)
    await adapter.start(Hub())
    await adapter._task
    assert out.getvalue().endswith("You are now sam.\nsam> ")
    piped = io.StringIO()
    await ConsoleAdapter(Settings(db_path=tmp_path / "x.db"), stdin=io.StringIO(""), stdout=piped).start(Hub())
    assert "> " not in piped.getvalue()  # scripts read plain lines


# ---- the stats chart -----------------------------------------------------------------------------


def test_chart_weekly_ticks_are_whole_numbers_and_left_out_topics_are_named():
    record = Record()
    for n in range(MAX_TOPICS + 5):
        for i in range(3):
            record.by_topic[f"topic {n:02d}"].add(i < n % 3)
    record.by_day.update({"2026-11-23": 1, "2026-11-16": 2})
    fig = progress_figure(record, "Stats", date(2026, 11, 25))
    left, right = fig.axes
    assert all(float(t).is_integer() for t in right.get_yticks())
    assert left.get_title() == f"Accuracy: your weakest {MAX_TOPICS} of {MAX_TOPICS + 5} topics"
    labels = [t for t in left.texts if "/" in t.get_text()]
    on_dark = [t for t in labels if t.get_horizontalalignment() == "right"]
    assert on_dark and all(t.get_color() == "white" for t in on_dark)
