"""Suggested questions: /quiz suggest (a form), /quiz suggestions (admins approve, edit or reject).

A suggestion is checked with the very rules of questions.yaml: its fields are written out as a one-question bank
and read back by bot/questions.py, and each problem found is put back on the form field it came from (by its line),
so the form can show it there. A form sent with problems is kept as a draft, to be opened again with what was
typed. A sound one waits as `pending` until an admin decides: approved, it gets the id `suggested-<n>`, joins the
engine's bank at once (and at every start), and `studybot export --yaml` writes it in questions.yaml's format;
rejected, its author is told why, privately.

Approved questions join the one bank the process shares, so every workspace it serves may draw them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from bot import outcomes as o
from bot import texts
from bot.clock import Clock
from bot.events import Action, Kind, Outgoing, SuggestionSubmitted
from bot.models import Bank, Member, Place, Question
from bot.questions import parse_bank
from bot.store import Store

log = logging.getLogger(__name__)

# The form's fields, in order: (key, the longest text the form takes). Their labels are in bot/texts.py.
FIELDS = (("level", 40), ("topic", 60), ("question", 300), ("choices", 400), ("correct", 2), ("answer", 2500),
          ("key_points", 1300))
KEYS = tuple(key for key, _ in FIELDS)
OPEN_WORDS = {"open", "open-ended", "open ended", "openended", "none", "-"}
ID_PREFIX = "suggested-"
DRAFT_ID = "suggested-draft"
MAX_REASON = 300
FORGOTTEN = "forgotten-"  # the start of the id a forgotten member's rows keep (bot/team.py): no one to tell


def lines_of(text: str) -> list[str]:
    """A list typed one item a line; list markers ("- ", "* ", "1. ") dropped, blank lines skipped."""
    out = []
    for line in text.splitlines():
        item = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line).strip()
        if item:
            out.append(item)
    return out


def is_open(choices: str) -> bool:
    return choices.strip().lower() in OPEN_WORDS


def question_fields(values: dict[str, str], question_id: str = DRAFT_ID) -> dict[str, Any]:
    """The form's values as a questions.yaml entry (what `studybot export --yaml` writes, and what is checked)."""
    entry: dict[str, Any] = {"id": question_id, "level": values.get("level", "").strip(),
                             "topic": values.get("topic", "").strip(), "covers": [],
                             "question": values.get("question", "").strip()}
    choices = values.get("choices", "")
    if not is_open(choices):
        entry["choices"] = lines_of(choices)
        entry["correct"] = values.get("correct", "").strip()
    entry["answer"] = values.get("answer", "").strip()
    entry["key_points"] = lines_of(values.get("key_points", ""))
    return entry


@dataclass(frozen=True)
class Checked:
    question: Question | None
    errors: dict[str, str]  # form field -> its problems; "" -> problems of the whole question


def check(values: dict[str, str], bank: Bank, question_id: str = DRAFT_ID) -> Checked:
    """The suggestion as a Question, or its problems by form field: the rules of questions.yaml, and a few more."""
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for key, limit in FIELDS:
        if len(values.get(key, "")) > limit * 2:  # the form's own limit, kept by hand-made payloads too
            fail(key, f"is {len(values[key])} characters; keep it under {limit}")
    entry = question_fields(values, question_id)
    if "choices" not in entry and values.get("correct", "").strip():
        fail("correct", "an open-ended question has no right choice: leave this empty")
    text = yaml.safe_dump({"levels": list(bank.levels), "questions": [entry]}, sort_keys=False, allow_unicode=True,
                          width=10_000)
    lines = _field_lines(text)
    bank_checked, problems = parse_bank(text, "suggestion")
    for problem in problems:
        field = lines.get(problem.line, "")
        message = re.sub(rf"^question '{re.escape(question_id)}': ", "", problem.message)
        if field == "" and (missing := re.search(r"missing field '(\w+)'", message)):
            field = missing.group(1)
        fail(field if field in KEYS else "", _friendly(field, message))
    if not errors and bank_checked is not None:
        [question] = bank_checked.questions
        duplicate = next((q for q in bank.questions if q.question.casefold() == question.question.casefold()
                          and q.id != question_id), None)
        if duplicate is not None:
            fail("question", f"the bank already asks this ({duplicate.id})")
        else:
            return Checked(replace(question, line=0), {})
    return Checked(None, {field: "; ".join(messages) for field, messages in errors.items()})


def _friendly(field: str, message: str) -> str:
    """The checker's words, as the form's fields name things."""
    message = message.replace("key_points", "key points")
    if field == "choices" and "items; it needs" in message:
        return message + " (one per line, or write open-ended)"
    if field == "key_points" and "items; it needs" in message:
        return message + " (one per line)"
    return message


def _field_lines(text: str) -> dict[int, str]:
    """Line number (1-based) -> the question's field whose value covers it, in the YAML written by `check`."""
    root = yaml.compose(text)
    out: dict[int, str] = {}
    assert isinstance(root, MappingNode)
    for key, value in root.value:
        if isinstance(key, ScalarNode) and key.value == "questions" and isinstance(value, SequenceNode):
            item = value.value[0]
            assert isinstance(item, MappingNode)
            for field_key, field_value in item.value:
                first = field_key.start_mark.line + 1
                last = max(field_value.end_mark.line + 1, first)
                if isinstance(field_value, SequenceNode) and field_value.value:  # block lists end on the next key
                    last = field_value.value[-1].end_mark.line + 1
                for line in range(first, last + 1):
                    out.setdefault(line, field_key.value)
    return out


def with_suggested(store: Store, bank: Bank) -> Bank:
    """The engine's own bank: the questions file's, and the approved suggestions (a copy: approving adds to it)."""
    extra = []
    for row in store.approved_suggestions():
        checked = check(json.loads(row["fields"]), bank, row["question_id"])
        if checked.question is None or bank.get(row["question_id"]) is not None:
            log.warning("approved suggestion %s no longer passes the checks (%s); not asked", row["id"], checked.errors)
            continue
        extra.append(checked.question)
    return Bank(bank.levels, bank.questions + tuple(extra))


def add_to_bank(bank: Bank, question: Question) -> None:
    """An approved question joins the engine's bank: every part of the engine holds this one Bank object."""
    object.__setattr__(bank, "questions", (*bank.questions, question))  # frozen for value semantics, grown here only
    bank.by_id[question.id] = question


def export_yaml(store: Store, levels: tuple[str, ...], path: Path) -> int:
    """The approved suggestions in questions.yaml's format, for merging into it; how many were written."""
    rows = store.approved_suggestions()
    entries = [question_fields(json.loads(r["fields"]), r["question_id"]) for r in rows]
    for entry in entries:
        if "correct" in entry and str(entry["correct"]).isdigit():
            entry["correct"] = int(entry["correct"])
    head = ("# Questions suggested by members (/quiz suggest) and approved by an admin, written by studybot export "
            "--yaml.\n# Merge them into questions.yaml under `questions:`; give each a `covers:` list there.\n")
    body = yaml.dump({"levels": list(levels), "questions": entries}, Dumper=_Dumper, sort_keys=False,
                     allow_unicode=True, width=110)
    path.write_text(head + body, encoding="utf-8")
    return len(entries)


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def parse_values(args: tuple[str, ...]) -> dict[str, str]:
    """`/quiz suggest level=basic topic="RAG basics"`: values to start the form with."""
    values = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep and key.strip().lower() in ("level", "topic"):
            values[key.strip().lower()] = value.strip()
    return values


class Suggestions:
    """/quiz suggest and /quiz suggestions; `bank` is the engine's own (approving adds to it)."""

    def __init__(self, store: Store, bank: Bank, clock: Clock, notify_admins: Callable[[str, str, str], None]) -> None:
        self.store = store
        self.bank = bank
        self.clock = clock
        self.notify_admins = notify_admins  # (platform, workspace, text): a notice at their next command

    def _form(self, member: Member, place: Place, values: dict[str, str], errors: dict[str, str] | None = None,
              draft: int | None = None, editing: int | None = None) -> Outgoing:
        shown = tuple((k, values.get(k, "")) for k in KEYS if values.get(k))
        outcome = o.SuggestForm(self.bank.levels, shown, tuple((errors or {}).items()), draft, editing)
        reopen = f"suggestions edit {editing}" if editing is not None else f"suggest draft {draft}"
        # Where the form cannot open at once (its trigger expired, or after a form was sent back): a button opens it.
        label = "Open the form again" if errors else "Open the form"
        actions = (Action(label, reopen),) if draft is not None or editing is not None else ()
        return Outgoing(Kind.FORM, place, outcome=outcome, to=member, actions=actions)

    def suggest(self, member: Member, place: Place, args: tuple[str, ...], admin: bool) -> list[Outgoing]:
        """/quiz suggest [level=... topic=...] opens the form; `suggest draft N` opens a draft (or, for an admin,
        `suggestions edit N` a pending suggestion) again."""
        if len(args) == 2 and args[0].lower() in ("draft", "edit") and args[1].isdigit():
            row = self.store.suggestion(int(args[1]))
            mine = row is not None and row["platform"] == member.platform and row["user_id"] == member.user_id
            if row is None or row["workspace"] != place.workspace or not (mine or admin):
                return [Outgoing(Kind.NOTICE, place, outcome=o.SuggestionsUsage(f"there is no suggestion {args[1]} "
                                                                              "of yours to open"), to=member)]
            values = json.loads(row["fields"])
            if row["status"] == "draft":
                return [self._form(member, place, values, check(values, self.bank).errors, draft=row["id"])]
            if row["status"] == "pending" and admin:
                return [self._form(member, place, values, editing=row["id"])]
            return [Outgoing(Kind.NOTICE, place, outcome=o.SuggestionsUsage(f"suggestion {row['id']} is "
                                                                          f"{row['status']} already"), to=member)]
        values = parse_values(args)
        if "level" not in values and self.bank.levels:
            values["level"] = self.bank.levels[0]
        # Kept as a draft from the start: a form that shows only some fields (Discord's holds five) is sent back
        # with its draft's number, and the rest (level, topic) comes from the draft.
        draft = self.store.save_suggestion(place, member, "draft", json.dumps(values), self.clock())
        return [self._form(member, place, values, draft=draft)]

    def submit(self, ev: SuggestionSubmitted) -> list[Outgoing]:
        member, place = ev.member, ev.place
        sent = {key: value.replace("\r\n", "\n") for key, value in ev.values if key in KEYS and value is not None}

        def say(outcome: o.Outcome) -> list[Outgoing]:
            return [Outgoing(Kind.NOTICE, place, outcome=outcome, to=member)]

        if ev.editing is not None:
            row = self.store.suggestion(ev.editing)
            if not ev.is_admin:
                return say(o.AdminOnly("suggestions"))
            if row is None or row["status"] != "pending" or row["workspace"] != place.workspace:
                return say(o.SuggestionsUsage(f"suggestion {ev.editing} is no longer waiting for review"))
        # The form's fields over what was kept (the draft's, or the suggestion's being edited): a form may show
        # only some of them.
        draft = ev.draft if ev.draft is not None and self._own_draft(ev.draft, member) else None
        kept_id = ev.editing if ev.editing is not None else draft
        kept = self.store.suggestion(kept_id) if kept_id is not None else None
        values = {**dict.fromkeys(KEYS, ""), **(json.loads(kept["fields"]) if kept else {}), **sent}
        checked = check(values, self.bank)
        now = self.clock()
        if checked.errors:
            if ev.editing is None:
                draft = self.store.save_suggestion(place, member, "draft", json.dumps(values), now, draft)
            return [self._form(member, place, values, checked.errors, draft=draft, editing=ev.editing)]
        if ev.editing is not None:
            self.store.edit_suggestion(ev.editing, json.dumps(values))
            return say(o.SuggestionSaved(ev.editing, edited=True))
        suggestion_id = self.store.save_suggestion(place, member, "pending", json.dumps(values), now, draft)
        self.notify_admins(place.platform, place.workspace, texts.render(o.SuggestionWaiting(suggestion_id))[1])
        return say(o.SuggestionSaved(suggestion_id))

    def _own_draft(self, draft: int, member: Member) -> bool:
        row = self.store.suggestion(draft)
        return (row is not None and row["status"] == "draft" and row["platform"] == member.platform
                and row["user_id"] == member.user_id)

    # ---- /quiz suggestions (admins) -------------------------------------------------------------------

    def pending(self, place: Place) -> tuple[o.SuggestionItem, ...]:
        items = []
        for row in self.store.suggestions_of(place.platform, place.workspace, "pending"):
            entry = question_fields(json.loads(row["fields"]))
            correct = str(entry.get("correct", ""))
            items.append(o.SuggestionItem(row["id"], row["name"], entry["question"], entry["level"],
                                          tuple(entry.get("choices", ())), int(correct) if correct.isdigit() else 0))
        return tuple(items)

    def decide(self, member: Member, place: Place, args: tuple[str, ...]) -> list[Outgoing]:
        """`approve N`, `reject N <reason>`, `edit N`."""
        def say(outcome: o.Outcome) -> list[Outgoing]:
            return [Outgoing(Kind.NOTICE, place, outcome=outcome, to=member)]

        verb = args[0].lower()
        if len(args) < 2 or not args[1].isdigit():
            return say(o.SuggestionsUsage(f"`{verb}` needs the suggestion's number"))
        row = self.store.suggestion(int(args[1]))
        if row is None or row["workspace"] != place.workspace or row["platform"] != place.platform:
            return say(o.SuggestionsUsage(f"there is no suggestion {args[1]} here"))
        if row["status"] != "pending":
            return say(o.SuggestionsUsage(f"suggestion {row['id']} is {row['status']} already"))
        if verb == "edit":
            return self.suggest(member, place, ("edit", args[1]), admin=True)
        author = Member(row["platform"], row["user_id"], row["name"])
        by = f"{member.platform}:{member.user_id}"
        values = json.loads(row["fields"])
        to_author = Place(row["platform"], row["workspace"], row["channel"])
        if verb == "reject":
            reason = " ".join(args[2:]).strip()[:MAX_REASON]
            if not reason:
                return say(o.SuggestionsUsage("a rejection needs a reason, for its author: "
                                              f"`/quiz suggestions reject {row['id']} <reason>`"))
            if not self.store.decide_suggestion(row["id"], "rejected", None, reason, by, self.clock()):
                return say(o.SuggestionsUsage(f"suggestion {row['id']} was decided already"))
            verdict = o.SuggestionVerdict(values.get("question", ""), approved=False, reason=reason)
            return [*say(o.SuggestionDecided(row["id"], approved=False)), *self._tell(author, to_author, verdict)]
        question_id = f"{ID_PREFIX}{row['id']}"
        checked = check(values, self.bank, question_id)
        if checked.question is None:  # the bank changed since (a level removed, the same question added)
            problems = "; ".join(f"{k or 'question'}: {v}" for k, v in checked.errors.items())
            return say(o.SuggestionsUsage(f"suggestion {row['id']} no longer passes the checks ({problems}): "
                                          f"`/quiz suggestions edit {row['id']}`"))
        if not self.store.decide_suggestion(row["id"], "approved", question_id, None, by, self.clock()):
            return say(o.SuggestionsUsage(f"suggestion {row['id']} was decided already"))
        if self.bank.get(question_id) is None:
            add_to_bank(self.bank, checked.question)
        verdict = o.SuggestionVerdict(checked.question.question, approved=True)
        return [*say(o.SuggestionDecided(row["id"], approved=True, question_id=question_id)),
                *self._tell(author, to_author, verdict)]

    @staticmethod
    def _tell(author: Member, place: Place, verdict: o.SuggestionVerdict) -> list[Outgoing]:
        """The verdict to the suggestion's author, privately (a direct message where the platform has them)."""
        if author.user_id.startswith(FORGOTTEN):
            return []
        return [Outgoing(Kind.REMINDER, place, outcome=verdict, to=author)]
