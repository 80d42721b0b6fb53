"""Anki decks (.apkg) of the question bank, or of one member's missed questions, built with genanki.

A note's guid comes from its question id alone, and the note model and decks have fixed ids, so
importing a newer deck into Anki updates the notes already there instead of adding duplicates.
"""

from __future__ import annotations

import contextlib
import html
import itertools
import os
import re
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import genanki

from bot.models import Bank, Question

# Fixed for good: Anki recognises the note type and the decks by these ids (never change them).
MODEL_ID = 1_718_250_301
BANK_DECK_ID = 1_718_250_302
MISSED_DECK_ID = 1_718_250_303
GUID_NAMESPACE = "studybot"

FIELDS = ("Question", "Choices", "Answer", "ModelAnswer", "KeyPoints", "Id")

_CSS = """.card { font-family: sans-serif; font-size: 18px; text-align: left; max-width: 46em; margin: auto; }
ol.choices li { margin: .2em 0; }
.right { font-weight: bold; margin: .6em 0; }
.points { margin-top: .8em; }
code, pre { font-family: monospace; background: rgba(128, 128, 128, .15); border-radius: 3px; padding: 0 .2em; }
"""

_FRONT = "<div class=question>{{Question}}</div>\n{{Choices}}"
_BACK = """{{FrontSide}}
<hr id=answer>
{{#Answer}}<div class=right>Answer: {{Answer}}</div>{{/Answer}}
<div class=model>{{ModelAnswer}}</div>
{{#KeyPoints}}<div class=points><b>Key points</b>{{KeyPoints}}</div>{{/KeyPoints}}"""

MODEL = genanki.Model(
    MODEL_ID,
    "studybot question",
    fields=[{"name": name} for name in FIELDS],
    templates=[{"name": "Question", "qfmt": _FRONT, "afmt": _BACK}],
    css=_CSS,
)


class AnkiError(Exception):
    """An export that cannot be made; the message says why, for the command line."""


# ---- Markdown, simply ----------------------------------------------------------------------

_CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.DOTALL)
_ITALIC = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_NUMBER = re.compile(r"^\s{0,3}(\d{1,3})[.)]\s+(.*)$")
_FENCE = re.compile(r"^\s{0,3}```")


def inline_html(text: str) -> str:
    """One line or paragraph of Markdown: HTML escaped, then `code`, **bold** and *italic*."""
    parts = []
    last = 0
    for match in _CODE.finditer(text):
        parts.append(_emphasis(html.escape(text[last:match.start()], quote=False)))
        parts.append(f"<code>{html.escape(match.group(2).strip(), quote=False)}</code>")
        last = match.end()
    parts.append(_emphasis(html.escape(text[last:], quote=False)))
    return "".join(parts)


def _emphasis(escaped: str) -> str:
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    return _ITALIC.sub(r"<i>\1</i>", escaped)


def _list_item(line: str, in_paragraph: bool) -> tuple[str, str] | None:
    """("ul" or "ol", the item's text) when the line starts a list item.

    As in CommonMark, a numbered item interrupts a paragraph only when it is number 1, so a
    wrapped line that happens to start with "2019. " stays text.
    """
    if match := _BULLET.match(line):
        return "ul", match.group(1)
    if (match := _NUMBER.match(line)) and (not in_paragraph or match.group(1) == "1"):
        return "ol", match.group(2)
    return None


def markdown_html(text: str) -> str:
    """Markdown as the bank uses it, to HTML: paragraphs, bullet and numbered lists, fenced code, inline marks.

    Everything else is shown as text: all HTML in the source is escaped, never interpreted.
    """
    blocks: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""
    lines = text.strip("\n").splitlines()

    def flush_paragraph() -> None:
        if paragraph:
            blocks.append("<p>" + inline_html(" ".join(line.strip() for line in paragraph)) + "</p>")
            paragraph.clear()

    def flush_list() -> None:
        nonlocal list_tag
        if items:
            blocks.append(f"<{list_tag}>" + "".join(f"<li>{inline_html(i)}</li>" for i in items) + f"</{list_tag}>")
            items.clear()
        list_tag = ""

    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            flush_paragraph()
            flush_list()
            code = []
            i += 1
            while i < len(lines) and not _FENCE.match(lines[i]):
                code.append(lines[i])
                i += 1
            blocks.append("<pre><code>" + html.escape("\n".join(code), quote=False) + "</code></pre>")
        elif not line.strip():
            flush_paragraph()
            flush_list()
        elif (item := _list_item(line, in_paragraph=bool(paragraph))) is not None:
            tag, content = item
            flush_paragraph()
            if list_tag != tag:
                flush_list()
                list_tag = tag
            items.append(content)
        elif items and line[:1].isspace():  # an indented line continues the list item above
            items[-1] += " " + line.strip()
        else:
            flush_list()
            paragraph.append(line)
        i += 1
    flush_paragraph()
    flush_list()
    return "\n".join(blocks)


# ---- notes and decks -------------------------------------------------------------------------


def note_guid(question_id: str) -> str:
    """The same for a question id in every export, so Anki updates the note on re-import."""
    guid: str = genanki.guid_for(GUID_NAMESPACE, question_id)
    return guid


def tag(text: str) -> str:
    """Anki tags cannot hold spaces."""
    return re.sub(r"\s+", "_", text.strip())


def note_for(question: Question) -> genanki.Note:
    if question.is_open:
        choices = answer = ""
    else:
        choices = '<ol class="choices">' + "".join(f"<li>{inline_html(c)}</li>" for c in question.choices) + "</ol>"
        answer = f"{question.correct}. {inline_html(question.correct_text)}"
    points = "<ul>" + "".join(f"<li>{inline_html(p)}</li>" for p in question.key_points) + "</ul>"
    fields = [inline_html(question.question), choices, answer, markdown_html(question.answer),
              points if question.key_points else "", html.escape(question.id, quote=False)]
    return genanki.Note(model=MODEL, fields=fields, guid=note_guid(question.id),
                        tags=[tag(question.level), tag(question.topic)])


def build_deck(questions: Iterable[Question], name: str, deck_id: int = BANK_DECK_ID) -> genanki.Deck:
    deck = genanki.Deck(deck_id, name, description="Questions from studybot, the LLM interview study bot.")
    for question in questions:
        deck.add_note(note_for(question))
    return deck


def write_package(deck: genanki.Deck, path: Path) -> None:
    """The .apkg: a zip of the deck's Anki collection (an SQLite file) and an empty media list.

    genanki's own Package.write_to_file builds the collection in a tempfile.mkstemp() file that it never removes
    (genanki 0.13.1): a bot that exports decks for months would fill /tmp. So the collection is built here, with
    genanki's write_to_db, in a directory that goes when the deck is written."""
    with tempfile.TemporaryDirectory(prefix="studybot-anki-") as work:
        collection = Path(work) / "collection.anki2"
        conn = sqlite3.connect(collection)
        try:
            now = time.time()
            genanki.Package(deck).write_to_db(conn.cursor(), now, itertools.count(int(now * 1000)))
            conn.commit()
        finally:
            conn.close()
        with zipfile.ZipFile(path, "w") as package:
            package.write(collection, "collection.anki2")
            package.writestr("media", "{}")  # no media files


def write_deck(deck: genanki.Deck, path: Path) -> None:
    """Write the .apkg through a temporary file beside it, so a failure leaves no half-written deck."""
    if path.is_dir():
        raise AnkiError(f"cannot write the deck to {path}: it is a directory")
    partial = path.with_name(path.name + ".partial")
    try:
        write_package(deck, partial)
        os.replace(partial, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        reason = error.strerror or str(error)
        raise AnkiError(f"cannot write the deck to {path}: {reason}") from None


# ---- one member's misses -------------------------------------------------------------------


def missed_question_ids(database: Path | str, member_id: str) -> list[str]:
    """Ids of the questions this member answered wrongly (correct = 0) on any platform or workspace, latest first.

    `database`: the SQLite file or the postgresql:// URL."""
    from bot.db import connect, is_postgres_url, redact_url

    try:
        db = connect(database, timeout=30)
        try:
            rows = db.rows(
                """SELECT r.question_id, MAX(a.answered_at) AS last FROM answers a JOIN rounds r ON r.id = a.round_id
                   WHERE a.user_id = ? AND a.correct = 0 GROUP BY r.question_id ORDER BY last DESC, r.question_id""",
                (member_id,),
            )
        finally:
            db.close()
    except Exception as error:  # sqlite3.Error, psycopg.Error
        shown = redact_url(str(database)) if is_postgres_url(database) else database
        raise AnkiError(f"STUDYBOT_DB: cannot read answers from {shown}: {error}") from None
    return [row["question_id"] for row in rows]


def export_anki(bank: Bank, path: Path, member_id: str | None = None, db_path: Path | str | None = None) -> str:
    """Write the deck; return the line to print. AnkiError for a member with no misses or an unwritable path.

    `db_path`: the SQLite file or the postgresql:// URL the member's answers are read from."""
    from bot.db import is_postgres_url

    if member_id is None:
        questions = list(bank.questions)
        if not questions:
            raise AnkiError("the question bank is empty: no deck to write")
        write_deck(build_deck(questions, "studybot: LLM interview questions", BANK_DECK_ID), path)
        return f"{path}: {len(questions)} notes (the whole bank)"
    if db_path is None or not (is_postgres_url(db_path) or Path(db_path).exists()):
        raise AnkiError(f"STUDYBOT_DB: no database at {db_path}: no answers, so no missed questions for "
                        f"member {member_id}")
    missed = missed_question_ids(db_path, member_id)
    questions = [q for q in (bank.get(qid) for qid in missed) if q is not None]
    gone = len(missed) - len(questions)
    if not questions:
        extra = f" ({gone} missed question{'s are' if gone != 1 else ' is'} no longer in the bank)" if gone else ""
        raise AnkiError(f"no missed questions for member {member_id}{extra}: no deck written")
    write_deck(build_deck(questions, "studybot: missed questions", MISSED_DECK_ID), path)
    line = f"{path}: {len(questions)} notes (the questions member {member_id} missed)"
    if gone:
        line += f"; {gone} missed question{'s' if gone != 1 else ''} no longer in the bank left out"
    return line
