"""`studybot check --strict`: quality rules for a question bank, beyond its schema.

Rules (each reported with the question's line):
- exactly 4 choices, no "all/none of the above" or "both ..." choices;
- model answer of 40 to 180 words; key points of at most 8 words;
- no right choice that stands out by length: the right choice may not be the
  only long one, i.e. longer than 1.6 x the longest wrong choice;
- no choice that merely repeats the question (all its content words appear in it);
- covers not empty (and, when a seed topic file is given, every id in it);
- near-duplicate questions: rapidfuzz token_sort_ratio of the normalised
  question texts >= NEAR_DUPLICATE (88), the pair reported once;
- answer-position balance: in each level, no position holds more than 35% of
  the right answers (levels with fewer than 8 questions are not judged);
- no length tell: in each level, the right choice is strictly the longest in at
  most 40% of the questions (chance is 25%).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.grading import words
from bot.models import Bank, Question
from bot.questions import Problem

NEAR_DUPLICATE = 88
MAX_POSITION_SHARE = 0.35
ANSWER_WORDS = (40, 180)
KEY_POINT_WORDS = 8
LONG_RIGHT_RATIO = 1.6
MIN_LEVEL_FOR_BALANCE = 8
MAX_LONGEST_SHARE = 0.40
_CATCH_ALL = re.compile(r"\b(all|none|both|neither) of (the|these) (above|options|answers)\b|^(both|neither) [a-d1-4] (and|nor) [a-d1-4]\b", re.I)


def lint(bank: Bank, path: Path, seed_ids: set[str] | None = None) -> list[Problem]:
    file = str(path)
    problems: list[Problem] = []
    for question in bank.questions:
        problems += [Problem(file, question.line, f"question '{question.id}': {m}") for m in question_problems(question, seed_ids)]
    problems += [Problem(file, line, m) for line, m in near_duplicates(bank.questions)]
    problems += [Problem(file, 1, m) for m in position_balance(bank)]
    return sorted(problems, key=lambda p: p.line)


def question_problems(q: Question, seed_ids: set[str] | None) -> list[str]:
    found = []
    if len(q.choices) != 4:
        found.append(f"has {len(q.choices)} choices; the shipped bank uses exactly 4")
    for number, choice in enumerate(q.choices, 1):
        if _CATCH_ALL.search(choice):
            found.append(f"choice {number} is a catch-all ({choice!r}); give a real option")
        if repeats_question(choice, q.question):
            found.append(f"choice {number} only repeats words of the question")
    count = len(q.answer.split())
    if not ANSWER_WORDS[0] <= count <= ANSWER_WORDS[1]:
        found.append(f"answer has {count} words; keep it between {ANSWER_WORDS[0]} and {ANSWER_WORDS[1]}")
    for point in q.key_points:
        if len(point.split()) > KEY_POINT_WORDS:
            found.append(f"key point {point!r} is over {KEY_POINT_WORDS} words; a grader looks for short phrases")
    if stands_out(q):
        found.append("the right choice is the only long one; make the wrong choices as specific")
    if not q.covers:
        found.append("covers is empty; name the seed topics it covers")
    elif seed_ids is not None:
        unknown = [c for c in q.covers if c not in seed_ids]
        if unknown:
            found.append(f"covers unknown seed ids: {', '.join(unknown)}")
    return found


def repeats_question(choice: str, question: str) -> bool:
    """All of a choice's content words are the question's (worked figures, with digits, are exempt)."""
    if any(ch.isdigit() for ch in choice):
        return False
    content = set(words(choice))
    return len(content) >= 2 and content <= set(words(question))


def stands_out(q: Question) -> bool:
    right = len(q.correct_text)
    longest_wrong = max(len(c) for i, c in enumerate(q.choices, 1) if i != q.correct)
    return right > LONG_RIGHT_RATIO * longest_wrong


def _normalised(text: str) -> str:
    return " ".join(words(text))


def near_duplicates(questions: tuple[Question, ...]) -> list[tuple[int, str]]:
    texts = [_normalised(q.question) for q in questions]
    scores = process.cdist(texts, texts, scorer=fuzz.token_sort_ratio, score_cutoff=NEAR_DUPLICATE)
    found = []
    for i in range(len(questions)):
        for j in range(i + 1, len(questions)):
            if scores[i][j] >= NEAR_DUPLICATE:
                a, b = questions[i], questions[j]
                found.append((b.line, f"question '{b.id}' is a near-duplicate of '{a.id}' (line {a.line}, "
                                      f"similarity {scores[i][j]:.0f} >= {NEAR_DUPLICATE})"))
    return found


def position_balance(bank: Bank) -> list[str]:
    found = []
    for level in bank.levels:
        questions = bank.of_level(level)
        if len(questions) < MIN_LEVEL_FOR_BALANCE:
            continue
        positions = Counter(q.correct for q in questions)
        position, count = positions.most_common(1)[0]
        if count / len(questions) > MAX_POSITION_SHARE:
            found.append(f"level '{level}': {count} of {len(questions)} right answers are choice {position} "
                         f"({count / len(questions):.0%} > {MAX_POSITION_SHARE:.0%}); spread them across 1..4")
        longest = sum(1 for q in questions if is_longest(q))
        if longest / len(questions) > MAX_LONGEST_SHARE:
            found.append(f"level '{level}': the right choice is the longest in {longest} of {len(questions)} questions "
                         f"({longest / len(questions):.0%} > {MAX_LONGEST_SHARE:.0%}); length gives answers away")
    return found


def is_longest(q: Question) -> bool:
    return all(len(q.correct_text) > len(c) for i, c in enumerate(q.choices, 1) if i != q.correct)


def load_seed_ids(path: Path) -> set[str]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {str(t["id"]) for t in data.get("topics", [])}
