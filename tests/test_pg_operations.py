"""The database commands on PostgreSQL: STUDYBOT_DB as a URL, backup through pg_dump, export through bot.db."""

from __future__ import annotations

import contextlib
import csv
import re

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings
from bot.events import ChoiceMade
from bot.models import Member, Place
from bot.store import Store
from tests.conftest import make_engine

PASSWORD = "s3cret-word"  # the test server trusts everyone; the password is there to be kept out of sight


def with_password(url: str) -> str:
    return re.sub(r"://postgres:?@", f"://postgres:{PASSWORD}@", url, count=1)


@pytest.fixture
def pg_url(pg_server):
    name = pg_server.create_database()
    yield with_password(pg_server.url(name))
    pg_server.drop_database(name)


@pytest.fixture
def played(pg_url, mini_bank, clock, tmp_path, monkeypatch):
    """A database with one revealed round: a right answer, and a member whose name a spreadsheet would run."""
    store = Store.open(pg_url)
    engine = make_engine(store, mini_bank, clock, reveal_after=3600)
    place = Place("console", "local", "console")
    [post] = engine.rounds.post_round(place, "basic")
    question = engine.bank.get(store.round(post.round_id).question_id)
    engine.handle(ChoiceMade(Member("console", "console:ann", "=HYPERLINK(1)"), question.correct,
                             round_id=post.round_id))
    engine.handle(ChoiceMade(Member("console", "console:bo", "bo"), question.correct % 2 + 1, round_id=post.round_id))
    clock.advance(hours=1)
    engine.rounds.reveal(post.round_id)
    store.close()
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("STUDYBOT_DB", pg_url)
    monkeypatch.setenv("STUDYBOT_QUESTIONS", str(mini_bank_path()))
    return question


def mini_bank_path():
    from tests.conftest import DATA

    return DATA / "mini_bank.yaml"


def test_the_url_is_the_database_and_its_password_a_secret(pg_url):
    settings = load_settings({"STUDYBOT_DB": pg_url}, dotenv=None)
    assert settings.db_url == pg_url and settings.database == pg_url
    assert PASSWORD in settings.secrets()
    assert load_settings({"STUDYBOT_DB": "data/bot.db"}, dotenv=None).database.name == "bot.db"
    with pytest.raises(ConfigError) as bad:
        load_settings({"STUDYBOT_DB": f"postgresql://u:{PASSWORD}@h/db?nosuchoption=1&&"}, dotenv=None)
    assert PASSWORD not in str(bad.value)


def test_export_csv_reads_postgresql(played, tmp_path, capsys):
    assert main(["export", "--csv", str(tmp_path / "out")]) == 0
    with (tmp_path / "out" / "answers.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["name"] for r in rows] == ["'=HYPERLINK(1)", "bo"]  # spreadsheet-safe, as on SQLite
    assert [r["correct"] for r in rows] == ["1", "0"] and rows[0]["level"] == "basic"
    assert "members.csv: 2 rows" in capsys.readouterr().out


def test_leaderboard_and_anki_read_postgresql(played, tmp_path, capsys):
    assert main(["leaderboard", "--all"]) == 0
    assert "=HYPERLINK(1)" in capsys.readouterr().out
    assert main(["export", "--anki", str(tmp_path / "bo.apkg"), "--member", "console:bo"]) == 0
    assert "1 notes" in capsys.readouterr().out


def test_backup_runs_pg_dump(played, pg_server, tmp_path, monkeypatch, capsys):
    if pg_server.bin_dir is None:
        pytest.skip("no pg_dump of the server's version known")
    monkeypatch.setenv("PATH", f"{pg_server.bin_dir}:/usr/bin:/bin")
    assert main(["backup", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    [dump] = tmp_path.glob("studybot-*.dump")
    assert dump.read_bytes()[:5] == b"PGDMP" and str(dump) in out and "pg_restore" in out
    assert not list(tmp_path.glob("*.partial"))


def test_backup_without_pg_dump_gives_the_command_without_the_password(played, tmp_path, monkeypatch, capsys):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["backup", str(tmp_path / "b.dump")]) == 2
    err = capsys.readouterr().err
    assert "pg_dump --format=custom --file=" in err and "--username=postgres" in err and "--dbname=" in err
    assert PASSWORD not in err
    assert not (tmp_path / "b.dump").exists()


def test_a_database_given_back_comes_again_as_new(pg_server, mini_bank, clock):
    """The PostgreSQL tests reuse databases (tests/pg.py): the next test must find no rows, ids from 1 again, and
    a database whose tables changed, or that has planner statistics, must not come back at all."""
    import psycopg

    name = pg_server.migrated_database()
    store = Store.open(pg_server.url(name))
    engine = make_engine(store, mini_bank, clock, reveal_after=3600)
    place = Place("console", "local", "console")
    [first] = engine.rounds.post_round(place, "basic")
    engine.handle(ChoiceMade(Member("console", "console:ann", "ann"), 1, round_id=first.round_id))
    [second] = engine.rounds.post_round(Place("console", "other", "console"), "basic")
    leftover = Store.open(pg_server.url(name))  # a connection the test forgot: closed by the server
    pg_server.give_back(name)
    store.close()

    assert pg_server.migrated_database() == name
    with psycopg.connect(pg_server.url(name)) as conn:  # truncated: empty files, as the template left them
        assert conn.execute("SELECT pg_relation_size('rounds')").fetchone()[0] == 0
    again = Store.open(pg_server.url(name))
    assert again.rows("SELECT id FROM rounds") == [] and again.rows("SELECT user_id FROM answers") == []
    [post] = make_engine(again, mini_bank, clock, reveal_after=3600).rounds.post_round(place, "basic")
    assert post.round_id == first.round_id < second.round_id  # the ids start over
    again.close()
    with contextlib.suppress(Exception):
        leftover.close()

    with psycopg.connect(pg_server.url(name), autocommit=True) as conn:
        conn.execute("ANALYZE")
    with pytest.raises(RuntimeError, match="planner statistics"):  # a plan test after it would see other stats
        pg_server.give_back(name)

    name = pg_server.migrated_database()
    with psycopg.connect(pg_server.url(name), autocommit=True) as conn:
        conn.execute("CREATE TABLE stray (x INTEGER)")
    with pytest.raises(RuntimeError, match="no longer has the template's tables"):
        pg_server.give_back(name)
    fresh = pg_server.migrated_database()
    assert fresh != name
    pg_server.give_back(fresh)
