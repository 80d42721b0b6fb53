"""Item analysis on a database of simulated answers whose flaws are planted and known.

80 members of known ability (0 weak .. 1 strong) across three platforms answer every question once
(a quarter of them in personal rounds, the rest in channel rounds). A member gets a question right
when ability plus a little noise clears the question's difficulty; wrong members spread over the
wrong choices in turn. Planted: a miskeyed question (the bank keys 1, the strong pick 3), a
question whose choice 4 nobody picks, one too easy, one too hard, one reported; the good questions
and the thinly answered ones must come out with no flag at all.
"""

from __future__ import annotations

import csv
import random
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
import yaml

from bot.clock import UTC
from bot.items import (
    KEY_ERROR,
    NEVER_PICKED,
    REPORTED,
    TOO_EASY,
    TOO_HARD,
    analyse,
    analyse_file,
    format_table,
    write_csv,
)
from bot.models import Member, Place
from bot.questions import load_bank
from bot.store import Store
from tests.cli_runner import studybot
from tests.console_process import console_env

N = 80
PLATFORMS = [("console", "local", "console"), ("slack", "T1", "C1"), ("discord", "G1", "100")]
START = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)

# id: (key in the bank, target share correct); the planted flaws are simulated apart below.
GOOD = {"good1": (1, 0.80), "good2": (2, 0.65), "good3": (3, 0.50), "good4": (4, 0.40), "good5": (2, 0.30)}
PLANTED = {"miskeyed": {KEY_ERROR}, "dull": {NEVER_PICKED}, "easy": {TOO_EASY}, "hard": {TOO_HARD}}


def ability(i: int) -> float:
    return (i + 0.5) / N


def members() -> list[Member]:
    return [Member(PLATFORMS[i % 3][0], f"{PLATFORMS[i % 3][0][0]}-u{i:02d}", f"member {i}") for i in range(N)]


def _question(qid: str, key: int | None) -> dict:
    q = {"id": qid, "level": "advanced" if qid in ("hard", "good5") else "basic", "topic": f"Topic {qid}",
         "covers": ["dc-01"], "question": f"Which option is right for {qid}?"}
    if key is not None:
        q.update(choices=[f"{qid} option {c}" for c in "ABCD"], correct=key)
    q.update(answer=f"The model answer for {qid}.", key_points=[f"{qid} point one", f"{qid} point two",
                                                                f"{qid} point three"])
    return q


def write_bank(path):
    keys = {**{q: k for q, (k, _) in GOOD.items()}, "miskeyed": 1, "dull": 2, "easy": 1, "hard": 3,
            "rare": 2, "few": 4, "open1": None}
    path.write_text(yaml.safe_dump({"levels": ["basic", "advanced"],
                                    "questions": [_question(q, k) for q, k in keys.items()]}, sort_keys=False))
    return load_bank(path)


def simulate() -> dict[str, list[int | None]]:
    """Each question's picks, member by member (None: that member did not answer it)."""
    picks: dict[str, list[int | None]] = {}

    def threshold(qid: str, key: int, share: float, wrong: list[int]) -> list[int]:
        noise = random.Random(qid)
        out, turn = [], 0
        for i in range(N):
            if ability(i) + noise.uniform(-0.1, 0.1) > 1 - share:
                out.append(key)
            else:
                out.append(wrong[turn % len(wrong)])
                turn += 1
        return out

    for qid, (key, share) in GOOD.items():
        picks[qid] = threshold(qid, key, share, [c for c in (1, 2, 3, 4) if c != key])
    picks["hard"] = threshold("hard", 3, 0.10, [1, 2, 4])
    picks["dull"] = threshold("dull", 2, 0.60, [1, 3])  # choice 4 distracts nobody
    # The bank keys 1, but 3 is really right: the stronger half picks 3, the weaker mostly the "key".
    weak_turn = [1, 1, 1, 2, 4]
    picks["miskeyed"] = [3 if ability(i) >= 0.5 else weak_turn[i % 5] for i in range(N)]
    # 77 of 80 right (96%): the three weakest miss, one on each wrong choice.
    picks["easy"] = [(2, 3, 4)[i] if i < 3 else 1 for i in range(N)]
    # Too few answers for any flag: 12 strong members, all right; 5 members.
    picks["rare"] = [2 if i >= N - 12 else None for i in range(N)]
    picks["few"] = [(4, 1, 4, 2, 4)[i // 16] if i % 16 == 0 else None for i in range(N)]
    # A question gone from the bank: its key (2) comes from the stored results.
    picks["retired"] = threshold("retired", 2, 0.5, [1, 3, 4])
    return picks


def build_db(path, bank) -> None:
    """Insert the simulated answers through the store, as rounds and answers scored by the bank's key."""
    keys = {q.id: q.correct for q in bank.questions} | {"retired": 2}
    store = Store.open(path)
    people = members()
    now = START
    with store.transaction():
        for qid, chosen in simulate().items():
            now += timedelta(days=1)
            channel_rounds = {}
            for platform, workspace, channel in PLATFORMS:
                place = Place(platform, workspace, channel)
                channel_rounds[platform] = store.create_round(place, "post", qid, "basic", now)
            for i, choice in enumerate(chosen):
                if choice is None:
                    continue
                who = people[i]
                platform, workspace, channel = PLATFORMS[i % 3]
                if i % 4 == 0:
                    kind = "review" if i % 8 == 0 else "personal"
                    round_id = store.create_round(Place(platform, workspace, channel), kind, qid, "basic", now,
                                                  owner=who.user_id)
                else:
                    round_id = channel_rounds[platform]
                rnd = store.round(round_id)
                store.record_choice(rnd, who, choice, now)
                answer = store.answer(round_id, who.user_id)
                store.set_result(answer.id, choice == keys[qid], None, 10 * (choice == keys[qid]), None)
        # Written answers only (no choice): never part of the item analysis.
        for i in range(5):
            place = Place(*PLATFORMS[i % 3])
            for qid in ("good1", "open1"):
                round_id = store.create_round(place, "personal", qid, "basic", now, owner=people[i].user_id)
                store.record_written(store.round(round_id), people[i], "my own words", now)
                store.set_result(store.answer(round_id, people[i].user_id).id, False, 0.2, 0, [False, False, True])
    store.close()


@pytest.fixture
def bank(tmp_path):
    return write_bank(tmp_path / "bank.yaml")


@pytest.fixture
def db(tmp_path, bank):
    path = tmp_path / "studybot.db"
    build_db(path, bank)
    return path


def add_reports(path, question_id: str, count: int) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany("INSERT INTO question_flags (question_id, platform, workspace, user_id, reason, at) "
                         "VALUES (?, 'console', 'local', ?, ?, '2026-11-23T09:00:00.000000Z')",
                         [(question_id, f"u{n}", "the key looks wrong") for n in range(count)])
    conn.close()


def test_each_planted_flag_appears_exactly_where_planted(db, bank):
    add_reports(db, "good2", 2)
    items = {i.question_id: i for i in analyse_file(db, bank)}
    assert set(items) == {*GOOD, *PLANTED, "rare", "few", "retired"}  # open1 and written answers left out
    expected = {**PLANTED, "good2": {REPORTED}}
    for qid, item in items.items():
        assert {f.kind for f in item.flags} == expected.get(qid, set()), (qid, item.flags, item.share_correct)
    assert [f.text for f in items["dull"].flags] == ["choice 4 never picked"]
    assert "strong members pick 3" in items["miskeyed"].flags[0].text
    assert items["good2"].reported == 2 and items["good2"].flags[0].text == "reported 2x"


def test_counts_shares_and_picks(db, bank):
    items = {i.question_id: i for i in analyse_file(db, bank)}
    easy = items["easy"]
    assert (easy.answers, easy.correct, easy.key) == (80, 77, 1)
    assert easy.picks == {1: 77, 2: 1, 3: 1, 4: 1}
    assert items["good1"].answers == 80  # its five written-only answers do not count
    miskeyed = items["miskeyed"]
    assert miskeyed.picks[3] == 40 and miskeyed.picks[1] == 24 and miskeyed.share_correct == pytest.approx(0.30)
    assert items["dull"].picks[4] == 0
    assert items["hard"].share_correct < 0.20 and items["easy"].share_correct > 0.95
    for qid in GOOD:
        assert 0.2 <= items[qid].share_correct <= 0.95
    retired = items["retired"]
    assert (retired.key, retired.level, retired.choices) == (2, "", 4)


def test_discrimination_signs_and_minimum(db, bank):
    items = {i.question_id: i for i in analyse_file(db, bank)}
    for qid in [*GOOD, "easy", "hard", "dull", "retired"]:
        assert items[qid].discrimination > 0.2, qid
    assert items["miskeyed"].discrimination < -0.3
    assert items["few"].answers == 5 and items["few"].discrimination is None  # under 10 answers
    assert items["rare"].answers == 12 and items["rare"].discrimination is None  # all right: nothing varies


def test_no_reports_table_means_no_reports(db, bank):
    items = analyse_file(db, bank)
    assert all(i.reported == 0 and not i.flagged(REPORTED) for i in items)


def test_flagged_questions_come_first_key_errors_at_the_top(db, bank):
    add_reports(db, "good2", 1)
    order = [i.question_id for i in analyse_file(db, bank)]
    assert order[:2] == ["miskeyed", "good2"]
    assert set(order[:5]) == {*PLANTED, "good2"}
    table = format_table(analyse_file(db, bank))
    lines = table.splitlines()
    assert lines[0] == "12 questions answered with a choice, 5 flagged."
    assert lines[5].startswith("miskeyed") and "possible key error" in lines[5]
    assert "1:24* 2:8 3:40 4:8" in lines[5]


def test_without_the_bank_keys_come_from_the_stored_results(db):
    conn = sqlite3.connect(db)
    items = {i.question_id: i for i in analyse(conn, None)}
    conn.close()
    assert items["easy"].key == 1 and items["miskeyed"].key == 1
    assert items["miskeyed"].flagged(KEY_ERROR) and items["easy"].flagged(TOO_EASY)


def test_empty_database_gives_no_rows_and_a_header_only_csv(tmp_path):
    Store.open(tmp_path / "empty.db").close()
    items = analyse_file(tmp_path / "empty.db", None)
    assert items == []
    write_csv(items, tmp_path / "items.csv")
    assert (tmp_path / "items.csv").read_text().splitlines() == [
        "question_id,level,topic,answers,correct,share_correct,key,picked_1,picked_2,picked_3,picked_4,"
        "discrimination,reported,flags"]


# ---- the command line --------------------------------------------------------------------------


def test_cli_prints_the_table_and_writes_the_csv(tmp_path, db):
    add_reports(db, "good2", 2)
    # A retired question whose id a spreadsheet would run as a formula.
    store = Store.open(db)
    with store.transaction():
        round_id = store.create_round(Place("console", "local", "console"), "post", "=HYPERLINK(1)", "basic", START)
        store.record_choice(store.round(round_id), Member("console", "x", "x"), 1, START)
        store.set_result(store.answer(round_id, "x").id, True, None, 10, None)
    store.close()
    out = tmp_path / "items.csv"
    result = studybot(tmp_path, "items", "--csv", str(out), STUDYBOT_QUESTIONS=str(tmp_path / "bank.yaml"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "13 questions answered with a choice, 5 flagged."
    assert lines[5].startswith("miskeyed") and "possible key error" in lines[5]
    assert any(line.startswith("dull") and "choice 4 never picked" in line for line in lines)
    assert lines[-1] == f"{out}: 13 rows"
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["question_id"] for r in rows[:2]] == ["miskeyed", "good2"]
    by_id = {r["question_id"]: r for r in rows}
    easy = by_id["easy"]
    assert easy["answers"] == "80" and easy["picked_1"] == "77" and easy["flags"] == "too easy"
    assert float(by_id["miskeyed"]["discrimination"]) < 0 and by_id["good2"]["reported"] == "2"
    assert by_id["few"]["discrimination"] == "" and by_id["good1"]["flags"] == ""
    assert "'=HYPERLINK(1)" in by_id


def test_cli_on_an_empty_database(tmp_path):
    Store.open(tmp_path / "studybot.db").close()
    result = studybot(tmp_path, "items", "--csv", str(tmp_path / "items.csv"))
    assert result.returncode == 0, result.stderr
    assert "no answers yet" in result.stdout
    assert len((tmp_path / "items.csv").read_text().splitlines()) == 1


def test_cli_without_a_database_says_so_and_creates_none(tmp_path):
    result = studybot(tmp_path, "items")
    assert result.returncode == 2
    assert "no database at" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "studybot.db").exists()


def test_cli_unwritable_csv_is_a_clear_error(tmp_path, db):
    result = studybot(tmp_path, "items", "--csv", str(tmp_path / "missing" / "items.csv"),
                      STUDYBOT_QUESTIONS=str(tmp_path / "bank.yaml"))
    assert result.returncode == 2
    assert "cannot write" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "missing").exists()


def test_cli_after_a_real_console_round(tmp_path):
    """The rows the bot itself writes: four members answer one channel round, one pick each, so one is right."""
    script = "/quiz post\n/as alice\n1\n/as bob\n2\n/as carol\n3\n/as dan\n4\n/wait 2.5\n"
    played = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, input=script, text=True,
                            capture_output=True, timeout=60, env=console_env(tmp_path, STUDYBOT_REVEAL_AFTER="2s"))
    assert played.returncode == 0, played.stderr
    result = studybot(tmp_path, "items", "--csv", "items.csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 question answered with a choice, 0 flagged.")
    with (tmp_path / "items.csv").open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["answers"], row["correct"], row["flags"], row["discrimination"]) == ("4", "1", "", "")
    assert [row[f"picked_{c}"] for c in "1234"] == ["1", "1", "1", "1"] and row["key"] in "1234"
