"""Item analysis of the multiple-choice answers: which questions work, and which need an editor's look.

For each question answered with a choice (answers.choice not null) in a channel round (daily, post)
or a personal round (personal, review, mock):

- answers: how many times it was answered with a choice, and the share correct;
- picks: how often each choice was picked;
- discrimination: the point-biserial correlation between being right on this question and the
  member's rest score, the member's share correct on all *other* questions (so the item does not
  correlate with itself). One observation per answer; members with no other answers are left out.
  Blank under MIN_DISCRIMINATION such answers, or when either side does not vary (everyone right).
  Near 0: the question does not separate strong members from weak ones; negative: weak members get
  it right more often than strong ones, the signature of a wrong key;
- flags, each with its own minimum of evidence:
  - too easy: more than 95% correct, with at least 20 answers;
  - too hard: less than 20% correct, with at least 20 answers;
  - a wrong choice nobody picked, with at least 20 answers (a distractor that distracts nobody);
  - possible key error: among the answers of the strong members (the top 27% of members by overall
    accuracy), a wrong choice is picked more often than the keyed one, with at least 10 such answers;
  - reported: members reported the question (rows in the `question_flags` table, when it exists);
  - broken: an admin marked it broken (/quiz broken; the `question_status` table), so no pick draws it. Such a
    question is listed even with no answers.

Answers are scored against the bank's current key, so a key fixed in the bank shows at once;
a question no longer in the bank is scored as it was stored (answers.correct), and its key is the
choice its correct answers picked. A member is one (platform, workspace, user id).
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.backup import safe_cell
from bot.models import Bank

ROUND_KINDS = ("daily", "post", "personal", "review", "mock")
EASY = 0.95
HARD = 0.20
MIN_FLAG = 20  # answers before too easy, too hard and never picked are judged
MIN_DISCRIMINATION = 10  # answers (with a rest score) before discrimination is shown
MIN_STRONG = 10  # answers by strong members before a possible key error is judged
STRONG_SHARE = 0.27  # the upper group of the classical upper-lower item analysis

# Flag kinds, most urgent first: the table lists flagged questions in this order.
KEY_ERROR, REPORTED, TOO_HARD, NEVER_PICKED, TOO_EASY = "key error", "reported", "too hard", "never picked", "too easy"
BROKEN = "broken"  # marked by an admin: dealt with already, so listed last
SEVERITY = (KEY_ERROR, REPORTED, TOO_HARD, NEVER_PICKED, TOO_EASY, BROKEN)


class ItemsError(Exception):
    """The database cannot be read, or the CSV cannot be written; the message says which."""


@dataclass(frozen=True)
class Flag:
    kind: str  # one of SEVERITY
    text: str


@dataclass
class Item:
    question_id: str
    level: str = ""
    topic: str = ""
    key: int | None = None  # the right choice, 1-based; None when unknown
    choices: int = 0  # how many choices the question has (the bank's, else the highest seen)
    answers: int = 0
    correct: int = 0
    picks: Counter[int] = field(default_factory=Counter)  # choice -> how many picked it
    discrimination: float | None = None
    reported: int = 0
    flags: list[Flag] = field(default_factory=list)
    broken: str | None = None  # marked broken: the reason ("" for none); None when not marked

    @property
    def share_correct(self) -> float:
        return self.correct / self.answers if self.answers else 0.0

    def flagged(self, kind: str) -> bool:
        return any(f.kind == kind for f in self.flags)


Member = tuple[str, str, str]  # platform, workspace, user id


@dataclass(frozen=True)
class _Response:
    member: Member
    question_id: str
    choice: int
    correct: bool


# ---- reading -----------------------------------------------------------------------------------


def analyse_file(db_path: Path, bank: Bank | None) -> list[Item]:
    try:
        conn = sqlite3.connect(db_path, timeout=30)
        try:
            return analyse(conn, bank)
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise ItemsError(f"STUDYBOT_DB: cannot read answers from {db_path}: {error}") from None


def analyse(conn: sqlite3.Connection, bank: Bank | None) -> list[Item]:
    """Every question with at least one scored multiple-choice answer, flagged questions first."""
    marks = ", ".join("?" for _ in ROUND_KINDS)
    rows = conn.execute(
        f"""SELECT a.platform, a.workspace, a.user_id, r.question_id, a.choice, a.correct
            FROM answers a JOIN rounds r ON r.id = a.round_id
            WHERE a.choice IS NOT NULL AND r.kind IN ({marks}) ORDER BY a.id""",
        ROUND_KINDS,
    ).fetchall()
    stored_keys = _stored_keys(rows)
    bank_keys = {q.id: q.correct for q in bank.questions if not q.is_open} if bank is not None else {}
    items: dict[str, Item] = {}
    responses: list[_Response] = []
    for platform, workspace, user_id, question_id, choice, stored in rows:
        item = items.get(question_id)
        if item is None:
            item = items[question_id] = _new_item(question_id, bank, stored_keys.get(question_id))
        if question_id in bank_keys:
            right = choice == bank_keys[question_id]
        elif stored is not None:
            right = bool(stored)
        else:
            continue  # not in the bank and not scored yet: nothing to judge it by
        item.choices = max(item.choices, choice)
        responses.append(_Response((platform, workspace, user_id), question_id, choice, right))
    for question_id, count in _reports(conn).items():
        if question_id in items:
            items[question_id].reported = count
    _fill(items, responses)
    for question_id, reason in _broken(conn).items():
        item = items.get(question_id)
        if item is None:
            item = items[question_id] = _new_item(question_id, bank, None)
        item.broken = reason
        item.flags.append(Flag(BROKEN, "marked broken" + (f": {reason}" if reason else "")))
    return sorted((i for i in items.values() if i.answers or i.broken is not None), key=_order)


def _stored_keys(rows: list[tuple[Any, ...]]) -> dict[str, int]:
    """For questions gone from the bank: the choice most often stored as correct."""
    counts: dict[str, Counter[int]] = defaultdict(Counter)
    for *_, question_id, choice, stored in rows:
        if stored:
            counts[question_id][choice] += 1
    return {qid: c.most_common(1)[0][0] for qid, c in counts.items()}


def _new_item(question_id: str, bank: Bank | None, stored_key: int | None) -> Item:
    question = bank.get(question_id) if bank is not None else None
    if question is None:
        return Item(question_id, key=stored_key)
    if question.is_open:  # open-ended now, multiple choice when answered: judge by what was stored
        return Item(question_id, question.level, question.topic, key=stored_key)
    return Item(question_id, question.level, question.topic, key=question.correct, choices=len(question.choices))


def _reports(conn: sqlite3.Connection) -> Counter[str]:
    """Reports per question, from the `question_flags` table once it exists."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'question_flags'").fetchone()
    if not exists:
        return Counter()
    return Counter(dict(conn.execute("SELECT question_id, COUNT(*) FROM question_flags GROUP BY question_id")))


def _broken(conn: sqlite3.Connection) -> dict[str, str]:
    """Questions an admin marked broken (/quiz broken), with the reason, from `question_status` once it exists."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'question_status'").fetchone()
    if not exists:
        return {}
    rows = conn.execute("SELECT question_id, reason FROM question_status WHERE status = 'broken'")
    return {question_id: reason or "" for question_id, reason in rows}


# ---- statistics --------------------------------------------------------------------------------


def _fill(items: dict[str, Item], responses: list[_Response]) -> None:
    total: Counter[Member] = Counter()
    right: Counter[Member] = Counter()
    per_item_total: Counter[tuple[Member, str]] = Counter()  # (member, question) -> answers
    per_item_right: Counter[tuple[Member, str]] = Counter()
    for r in responses:
        total[r.member] += 1
        right[r.member] += r.correct
        per_item_total[r.member, r.question_id] += 1
        per_item_right[r.member, r.question_id] += r.correct
        item = items[r.question_id]
        item.answers += 1
        item.correct += r.correct
        item.picks[r.choice] += 1
    strong = _strong_members(total, right)
    by_item: dict[str, list[_Response]] = defaultdict(list)
    for r in responses:
        by_item[r.question_id].append(r)
    for question_id, answers in by_item.items():
        item = items[question_id]
        pairs = []
        for r in answers:
            others = total[r.member] - per_item_total[r.member, question_id]
            if others:
                pairs.append((float(r.correct), (right[r.member] - per_item_right[r.member, question_id]) / others))
        item.discrimination = _pearson(pairs) if len(pairs) >= MIN_DISCRIMINATION else None
        item.flags = _flags(item, [r for r in answers if r.member in strong])


def _strong_members(total: Counter[Member], right: Counter[Member]) -> set[Member]:
    """The top 27% of members by overall accuracy, smoothed ((right + 1) / (answers + 2)) so that one lucky
    answer does not outrank a long record."""
    if not total:
        return set()
    ranked = sorted(total, key=lambda m: (-(right[m] + 1) / (total[m] + 2), -total[m], m))
    return set(ranked[:math.ceil(STRONG_SHARE * len(ranked))])


def _pearson(pairs: list[tuple[float, float]]) -> float | None:
    n = len(pairs)
    mx = sum(x for x, _ in pairs) / n
    my = sum(y for _, y in pairs) / n
    sxx = sum((x - mx) ** 2 for x, _ in pairs)
    syy = sum((y - my) ** 2 for _, y in pairs)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sum((x - mx) * (y - my) for x, y in pairs) / math.sqrt(sxx * syy)


def _flags(item: Item, strong_answers: list[_Response]) -> list[Flag]:
    flags = []
    if item.key is not None and len(strong_answers) >= MIN_STRONG:
        picks = Counter(r.choice for r in strong_answers)
        wrong = [(n, c) for c, n in picks.items() if c != item.key]
        if wrong:
            n, choice = max(wrong, key=lambda t: (t[0], -t[1]))
            if n > picks[item.key]:
                flags.append(Flag(KEY_ERROR, f"possible key error: strong members pick {choice} ({n}) "
                                             f"over the key {item.key} ({picks[item.key]})"))
    if item.reported:
        flags.append(Flag(REPORTED, f"reported {item.reported}x"))
    if item.answers >= MIN_FLAG:
        if item.share_correct < HARD:
            flags.append(Flag(TOO_HARD, "too hard"))
        if item.key is not None:
            for choice in range(1, item.choices + 1):
                if choice != item.key and not item.picks[choice]:
                    flags.append(Flag(NEVER_PICKED, f"choice {choice} never picked"))
        if item.share_correct > EASY:
            flags.append(Flag(TOO_EASY, "too easy"))
    return flags


def _order(item: Item) -> tuple[int, int, str]:
    worst = min((SEVERITY.index(f.kind) for f in item.flags), default=len(SEVERITY))
    return (worst, -len(item.flags), item.question_id)


# ---- output ------------------------------------------------------------------------------------


def _picks_text(item: Item) -> str:
    width = max([item.choices, *item.picks])
    return " ".join(f"{c}:{item.picks[c]}{'*' if c == item.key else ''}" for c in range(1, width + 1))


def _discrimination_text(item: Item) -> str:
    return "" if item.discrimination is None else f"{item.discrimination:+.2f}"


def format_table(items: list[Item]) -> str:
    flagged = sum(1 for i in items if i.flags)
    answered = sum(1 for i in items if i.answers)
    head = ("question", "level", "answers", "correct", "picks (* = key)", "discr.", "flags")
    rows = [(i.question_id, i.level, str(i.answers), f"{i.share_correct:.0%}", _picks_text(i),
             _discrimination_text(i), "; ".join(f.text for f in i.flags)) for i in items]
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(len(head) - 1)]
    numeric = {2, 3, 5}

    def line(row: tuple[str, ...]) -> str:
        cells = [row[c].rjust(widths[c]) if c in numeric else row[c].ljust(widths[c]) for c in range(len(widths))]
        return "  ".join([*cells, row[-1]]).rstrip()

    out = [f"{answered} question{'s' if answered != 1 else ''} answered with a choice, {flagged} flagged.",
           f"discr.: point-biserial correlation with the rest score (blank under {MIN_DISCRIMINATION} answers).",
           "", line(head), line(tuple("-" * len(h) for h in head))]
    out.extend(line(r) for r in rows)
    return "\n".join(out)


def csv_header(items: list[Item]) -> list[str]:
    choices = max([4, *(max([i.choices, *i.picks]) for i in items)])
    return ["question_id", "level", "topic", "answers", "correct", "share_correct", "key",
            *(f"picked_{c}" for c in range(1, choices + 1)), "discrimination", "reported", "flags"]


def write_csv(items: list[Item], path: Path) -> int:
    """The table's rows as CSV (every cell through safe_cell), written through a temporary file beside it."""
    header = csv_header(items)
    choices = sum(1 for h in header if h.startswith("picked_"))
    if path.is_dir():
        raise ItemsError(f"cannot write {path}: it is a directory")
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow([safe_cell(h) for h in header])
            for i in items:
                disc = "" if i.discrimination is None else f"{i.discrimination:.3f}"
                row = [i.question_id, i.level, i.topic, i.answers, i.correct, f"{i.share_correct:.3f}",
                       "" if i.key is None else i.key, *(i.picks[c] for c in range(1, choices + 1)),
                       disc, i.reported, "; ".join(f.text for f in i.flags)]
                out.writerow([safe_cell(cell) for cell in row])
        os.replace(partial, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise ItemsError(f"cannot write {path}: {error.strerror or error}") from None
    return len(items)
