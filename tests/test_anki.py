"""Anki decks: the whole bank or one member's misses, read back from the .apkg (a zip holding an SQLite collection)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from datetime import datetime, timedelta

import pytest
import yaml

from bot.anki import (
    BANK_DECK_ID,
    MISSED_DECK_ID,
    MODEL_ID,
    AnkiError,
    build_deck,
    export_anki,
    markdown_html,
    note_guid,
    write_deck,
)
from bot.clock import UTC
from bot.models import Member, Place
from bot.questions import load_bank
from bot.store import Store
from tests.cli_runner import studybot
from tests.conftest import DATA
from tests.console_process import console_env

OPEN_ANSWER = """The model learned that text after <legal> reads like **legal prose**; call
`apply_chat_template` to render it.

- first point
- second point, with *emphasis*

1. step one
2. step two"""


@pytest.fixture
def bank_path(tmp_path):
    """The mini bank plus one open-ended question with a Markdown answer."""
    data = yaml.safe_load((DATA / "mini_bank.yaml").read_text())
    data["questions"].append({
        "id": "o1", "level": "advanced", "topic": "Prompt engineering", "covers": ["dc-12"],
        "question": "Explain why a `<legal>` tag changes the style of a generation.",
        "answer": OPEN_ANSWER, "key_points": ["control codes", "conditioning on the prefix", "special tokens"],
    })
    path = tmp_path / "bank.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def bank(bank_path):
    return load_bank(bank_path)


def read_apkg(path, tmp_path) -> tuple[dict[str, dict], dict]:
    """The notes by question id (guid, fields by name, tags) and the collection's models and decks."""
    with zipfile.ZipFile(path) as archive:
        assert "collection.anki2" in archive.namelist()
        archive.extract("collection.anki2", tmp_path / "unzipped")
    conn = sqlite3.connect(tmp_path / "unzipped" / "collection.anki2")
    try:
        models_json, decks_json = conn.execute("SELECT models, decks FROM col").fetchone()
        models = json.loads(models_json)
        names = {int(mid): [f["name"] for f in m["flds"]] for mid, m in models.items()}
        notes = {}
        for guid, mid, flds, tags in conn.execute("SELECT guid, mid, flds, tags FROM notes"):
            fields = dict(zip(names[mid], flds.split("\x1f"), strict=False))
            notes[fields["Id"]] = {"guid": guid, "mid": mid, "fields": fields, "tags": tags.split()}
        deck_ids = {did for (did,) in conn.execute("SELECT DISTINCT did FROM cards")}
    finally:
        conn.close()
    (tmp_path / "unzipped" / "collection.anki2").unlink()
    return notes, {"models": set(names), "decks": json.loads(decks_json), "card_decks": deck_ids}


def test_whole_bank_deck_fronts_backs_and_tags(tmp_path, bank):
    out = tmp_path / "bank.apkg"
    line = export_anki(bank, out)
    assert line == f"{out}: 7 notes (the whole bank)"
    notes, meta = read_apkg(out, tmp_path)
    assert set(notes) == {q.id for q in bank.questions}
    assert meta["models"] == {MODEL_ID} and meta["card_decks"] == {BANK_DECK_ID}
    a1 = notes["a1"]["fields"]
    assert a1["Question"] == "What does the reward model in RLHF learn from?"
    assert a1["Choices"] == ('<ol class="choices"><li>Unlabelled web text</li><li>Human preference rankings</li>'
                             "<li>Compiler errors</li><li>Random noise</li></ol>")
    assert a1["Answer"] == "2. Human preference rankings"
    assert a1["ModelAnswer"].startswith("<p>Humans rank model outputs;")
    assert a1["KeyPoints"] == ("<ul><li>humans rank outputs</li><li>reward model learns preferences</li>"
                               "<li>policy optimised against reward</li></ul>")
    assert notes["a1"]["tags"] == ["advanced", "RLHF_and_alignment"]  # level, then topic with _ for spaces
    assert notes["b3"]["tags"] == ["basic", "Context_window"]


def test_open_question_has_no_choices_and_its_markdown_is_rendered_and_escaped(tmp_path, bank):
    out = tmp_path / "bank.apkg"
    export_anki(bank, out)
    o1 = read_apkg(out, tmp_path)[0]["o1"]["fields"]
    assert o1["Choices"] == "" and o1["Answer"] == ""
    assert o1["Question"] == "Explain why a <code>&lt;legal&gt;</code> tag changes the style of a generation."
    assert o1["ModelAnswer"] == (
        "<p>The model learned that text after &lt;legal&gt; reads like <b>legal prose</b>; call "
        "<code>apply_chat_template</code> to render it.</p>\n"
        "<ul><li>first point</li><li>second point, with <i>emphasis</i></li></ul>\n"
        "<ol><li>step one</li><li>step two</li></ol>")
    assert "<legal>" not in "".join(o1.values())


def test_markdown_rendering():
    assert markdown_html("a <b>tag</b> & 2 * 3 * 4") == "<p>a &lt;b&gt;tag&lt;/b&gt; &amp; 2 * 3 * 4</p>"
    assert markdown_html("`**not bold**` and **bold**") == "<p><code>**not bold**</code> and <b>bold</b></p>"
    assert markdown_html("one\ntwo\n\nthree") == "<p>one two</p>\n<p>three</p>"
    # A wrapped line starting with a number is text, not a list; an item's indented line continues it.
    assert markdown_html("Released in\n2019. Then more.") == "<p>Released in 2019. Then more.</p>"
    assert markdown_html("Steps:\n- a\n  still a\n- b") == "<p>Steps:</p>\n<ul><li>a still a</li><li>b</li></ul>"
    assert markdown_html("```\nx < y\n```") == "<pre><code>x &lt; y</code></pre>"


def test_guids_are_stable_across_exports_so_a_reimport_updates(tmp_path, bank, bank_path):
    first, second = tmp_path / "one.apkg", tmp_path / "two.apkg"
    export_anki(bank, first)
    # The bank changes between exports: a question reworded, another one gone.
    data = yaml.safe_load(bank_path.read_text())
    data["questions"] = [q for q in data["questions"] if q["id"] != "b2"]
    data["questions"][0]["question"] = "Which tokenizer merges frequent pairs, step by step?"
    bank_path.write_text(yaml.safe_dump(data, sort_keys=False))
    export_anki(load_bank(bank_path), second)
    notes1, _ = read_apkg(first, tmp_path)
    notes2, meta2 = read_apkg(second, tmp_path)
    assert set(notes2) == set(notes1) - {"b2"}
    for qid, note in notes2.items():
        assert note["guid"] == notes1[qid]["guid"] == note_guid(qid)
    assert notes2["b1"]["fields"]["Question"] == "Which tokenizer merges frequent pairs, step by step?"
    assert len({n["guid"] for n in notes1.values()}) == len(notes1)
    assert meta2["models"] == {MODEL_ID} and meta2["card_decks"] == {BANK_DECK_ID}


def record(store: Store, place: Place, who: Member, question_id: str, choice: int, correct: bool, when) -> None:
    round_id = store.create_round(place, "personal", question_id, "basic", when, owner=who.user_id)
    store.record_choice(store.round(round_id), who, choice, when)
    store.set_result(store.answer(round_id, who.user_id).id, correct, None, 0, None)


@pytest.fixture
def db(tmp_path):
    """sam missed b1 on the console and a2 on Slack, got b2 right and missed a retired question;
    kim missed b3 only."""
    path = tmp_path / "studybot.db"
    store = Store.open(path)
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    console, slack = Place("console", "local", "console"), Place("slack", "T1", "C1")
    with store.transaction():
        record(store, console, Member("console", "sam", "sam"), "b1", 2, False, start)
        record(store, slack, Member("slack", "sam", "sam"), "a2", 1, False, start + timedelta(days=1))
        record(store, console, Member("console", "sam", "sam"), "b2", 1, True, start + timedelta(days=2))
        record(store, console, Member("console", "sam", "sam"), "gone", 1, False, start + timedelta(days=3))
        record(store, console, Member("console", "kim", "kim"), "b3", 1, False, start)
        record(store, console, Member("console", "ann", "ann"), "b3", 2, True, start)
    store.close()
    return path


def test_member_deck_holds_only_that_members_misses(tmp_path, bank, db):
    out = tmp_path / "sam.apkg"
    line = export_anki(bank, out, "sam", db)
    assert line == f"{out}: 2 notes (the questions member sam missed); 1 missed question no longer in the bank left out"
    notes, meta = read_apkg(out, tmp_path)
    assert set(notes) == {"b1", "a2"}
    assert notes["b1"]["guid"] == note_guid("b1")  # the same note as in the whole-bank deck
    assert meta["card_decks"] == {MISSED_DECK_ID}
    export_anki(bank, out, "kim", db)
    assert set(read_apkg(out, tmp_path)[0]) == {"b3"}


def test_member_with_no_misses_is_refused_and_no_file_written(tmp_path, bank, db):
    out = tmp_path / "ann.apkg"
    with pytest.raises(AnkiError, match="no missed questions for member ann"):
        export_anki(bank, out, "ann", db)
    with pytest.raises(AnkiError, match="no missed questions for member nobody"):
        export_anki(bank, out, "nobody", db)
    assert not out.exists()


def test_unwritable_target_leaves_nothing_behind(tmp_path, bank):
    deck = build_deck(bank.questions, "test")
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(AnkiError, match=r"cannot write the deck to .*: it is a directory"):
        write_deck(deck, target)
    with pytest.raises(AnkiError, match=r"cannot write the deck to .*No such file or directory"):
        write_deck(deck, target / "missing" / "deck.apkg")
    assert list(target.iterdir()) == []


def test_writing_a_deck_leaves_no_temporary_file(tmp_path, bank, monkeypatch):
    """genanki's own writer leaves its collection file in the temporary directory; a bot exporting decks daily
    must not fill /tmp."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    out = tmp_path / "deck.apkg"
    write_deck(build_deck(bank.questions, "test"), out)
    assert list(temporary.iterdir()) == []
    notes, _ = read_apkg(out, tmp_path)
    assert set(notes) == {q.id for q in bank.questions}


# ---- the command line --------------------------------------------------------------------------


def test_cli_exports_the_bank_and_a_members_misses(tmp_path, bank_path, db):
    result = studybot(tmp_path, "export", "--anki", "all.apkg", STUDYBOT_QUESTIONS=str(bank_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "all.apkg: 7 notes (the whole bank)"
    result = studybot(tmp_path, "export", "--anki", "sam.apkg", "--member", "sam", STUDYBOT_QUESTIONS=str(bank_path))
    assert result.returncode == 0, result.stderr
    assert set(read_apkg(tmp_path / "sam.apkg", tmp_path)[0]) == {"b1", "a2"}


def test_cli_shipped_bank_deck(tmp_path):
    result = studybot(tmp_path, "export", "--anki", "bank.apkg")
    assert result.returncode == 0, result.stderr
    notes, _ = read_apkg(tmp_path / "bank.apkg", tmp_path)
    assert len(notes) == int(result.stdout.split(": ")[1].split()[0]) > 100


def test_cli_member_with_no_misses_exits_2_without_a_file(tmp_path, bank_path, db):
    result = studybot(tmp_path, "export", "--anki", "ann.apkg", "--member", "ann", STUDYBOT_QUESTIONS=str(bank_path))
    assert result.returncode == 2
    assert "no missed questions for member ann" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "ann.apkg").exists()


def test_cli_member_without_a_database(tmp_path, bank_path):
    result = studybot(tmp_path, "export", "--anki", "x.apkg", "--member", "sam", STUDYBOT_QUESTIONS=str(bank_path))
    assert result.returncode == 2
    assert "no database at" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.apkg").exists() and not (tmp_path / "studybot.db").exists()


@pytest.mark.parametrize("target", ["missing/deck.apkg", "."])
def test_cli_unwritable_file_exits_2_without_traceback(tmp_path, bank_path, target):
    result = studybot(tmp_path, "export", "--anki", target, STUDYBOT_QUESTIONS=str(bank_path))
    assert result.returncode == 2
    assert "cannot write the deck" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("args", "words"), [
    ((), "one of the arguments --csv --anki --yaml is required"),
    (("--csv", "out", "--anki", "x.apkg"), "not allowed with argument"),
    (("--csv", "out", "--member", "sam"), "--member goes with --anki"),
])
def test_cli_export_takes_csv_or_anki(tmp_path, args, words):
    result = studybot(tmp_path, "export", *args)
    assert result.returncode == 2
    assert words in result.stderr


def test_cli_member_deck_after_a_real_console_round(tmp_path):
    """Member ids as the bot stores them (console:NAME); of four members picking 1..4, three missed."""
    script = "/quiz post\n/as alice\n1\n/as bob\n2\n/as carol\n3\n/as dan\n4\n/wait 2.5\n"
    played = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, input=script, text=True,
                            capture_output=True, timeout=60, env=console_env(tmp_path, STUDYBOT_REVEAL_AFTER="2s"))
    assert played.returncode == 0, played.stderr
    conn = sqlite3.connect(tmp_path / "studybot.db")
    rows = conn.execute("SELECT r.question_id, a.user_id, a.correct FROM answers a JOIN rounds r ON r.id = a.round_id")
    results = {user: (question_id, correct) for question_id, user, correct in rows}
    conn.close()
    assert sorted(correct for _, correct in results.values()) == [0, 0, 0, 1]
    wrong = next(user for user, (_, correct) in results.items() if not correct)
    right = next(user for user, (_, correct) in results.items() if correct)
    missed = studybot(tmp_path, "export", "--anki", "missed.apkg", "--member", wrong)
    assert missed.returncode == 0, missed.stderr
    assert set(read_apkg(tmp_path / "missed.apkg", tmp_path)[0]) == {results[wrong][0]}
    none = studybot(tmp_path, "export", "--anki", "none.apkg", "--member", right)
    assert none.returncode == 2 and f"no missed questions for member {right}" in none.stderr
    assert not (tmp_path / "none.apkg").exists()
