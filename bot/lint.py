"""`studybot check --strict`: quality rules for a question bank, beyond its schema.

Each problem is reported with the question's line (bank-wide ones at line 1).

Every question:
- covers not empty; with topic files (`--seeds FILE`, repeatable), only ids
  from the union of those files.

Multiple-choice questions (with `choices` and `correct`):
- exactly 4 choices, no "all/none of the above" or "both ..." choices;
- no choice that merely repeats the question (all its content words appear in it);
- model answer of 40 to 180 words; key points of at most 8 words;
- the right choice is not the only long one, i.e. longer than 1.6 x the
  longest wrong choice.

Open-ended questions (no `choices`, no `correct`; answered in words):
- model answer of 120 to 300 words; 4 to 6 key points of at most 12 words.
  None of the choice rules apply to them.

Per level, over its multiple-choice questions only:
- answer-position balance: no position holds more than 35% of the right
  answers (levels with fewer than 8 multiple-choice questions are not judged);
- no giveaways: a test-taker who never reads the question must not expect
  more than 30% (chance is 25%) with either blind strategy:
  (a) strike every choice with absolute or extreme wording (ABSOLUTE_WORDS,
      whole words, any case) and guess uniformly among the rest, or among all
      four when every choice is struck: a question scores 1/k when the right
      choice is among the k survivors, else 0;
  (b) pick the longest choice, ties split evenly: 1/t when the right choice is
      one of the t longest, else 0.
  The figure of a level is the mean over its multiple-choice questions.

Across the bank:
- near-duplicate wording: rapidfuzz token_sort_ratio of the normalised
  question texts >= NEAR_DUPLICATE (88), the pair reported once;
- one idea asked twice: each question is embedded with the small wordllama
  model (l2_supercat, 256 dimensions, shipped inside the wordllama package),
  from its question text plus its right choice, or plus the first sentence of
  the model answer for an open-ended question; a pair whose cosine similarity
  is above SEMANTIC_DUPLICATE is reported at the later question, unless the
  allow-list (bot/lint_allow.yaml: `pairs:` of two ids and a `reason`) lists
  it. An allow-list entry naming an id that is not in the bank is a problem.
  The model averages word vectors: it catches duplicates that share their
  wording, not paraphrases with other words, so it is a net under a review,
  not a replacement for one.

Topic coverage, with topic files (`--seeds FILE`, repeatable):
- every topic id of every file must be covered. How often depends on the
  file: a file whose entries name `levels:` (plural, as topics-2026.yaml)
  needs every id covered by at least 4 questions, at least 1 of them
  open-ended; a file whose entries name one `level:` (seed-topics.yaml) needs
  every id covered by at least 3 questions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process

from bot.grading import words
from bot.models import Bank, Question
from bot.questions import Problem

if TYPE_CHECKING:
    import numpy as np

NEAR_DUPLICATE = 88
SEMANTIC_DUPLICATE = 0.65
MAX_POSITION_SHARE = 0.35
MIN_LEVEL_FOR_BALANCE = 8
CHOICES = 4
ANSWER_WORDS = (40, 180)
KEY_POINT_WORDS = 8
OPEN_ANSWER_WORDS = (120, 300)
OPEN_KEY_POINTS = (4, 6)
OPEN_KEY_POINT_WORDS = 12
LONG_RIGHT_RATIO = 1.6
MAX_GIVEAWAY = 0.30
ALLOW_FILE = Path(__file__).resolve().parent / "lint_allow.yaml"
ABSOLUTE_WORDS = ("always", "never", "only", "all", "every", "none", "no", "nothing", "completely", "entirely",
                  "totally", "guarantee", "guarantees", "guaranteed", "impossible", "must", "cannot", "can't",
                  "eliminate", "eliminates", "fully", "perfectly", "solely", "any", "whatever")
# whole words: not inside a longer word, a hyphenated compound ("all-reduce") or a contraction
_ABSOLUTE = re.compile(r"(?<![\w'-])(?:" + "|".join(map(re.escape, ABSOLUTE_WORDS)) + r")(?![\w'-])", re.I)
_CATCH_ALL = re.compile(
    r"\b(all|none|both|neither) of (the|these) (above|options|answers)\b|^(both|neither) [a-d1-4] (and|nor) [a-d1-4]\b",
    re.I,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'*(\[])")


@dataclass(frozen=True)
class TopicFile:
    """A topic list given with --seeds, and how often each of its ids must be covered."""

    path: Path
    topics: dict[str, str]  # id -> topic name
    min_questions: int
    min_open: int


@dataclass(frozen=True)
class AllowedPair:
    """A deliberate pair of questions on one idea, with the reason it stays."""

    ids: tuple[str, str]
    reason: str
    file: str
    line: int


@dataclass(frozen=True)
class Giveaway:
    """What a test-taker who never reads the question expects in one level."""

    questions: int  # multiple-choice questions in the level
    strike: float  # striking choices with absolute wording, then guessing
    longest: float  # picking the longest choice


def lint(
    bank: Bank, path: Path, topics: Sequence[TopicFile] = (), allowed: Sequence[AllowedPair] = ()
) -> list[Problem]:
    file = str(path)
    known = {id_ for t in topics for id_ in t.topics} if topics else None
    problems: list[Problem] = []
    for question in bank.questions:
        problems += [Problem(file, question.line, f"question '{question.id}': {m}")
                     for m in question_problems(question, known)]
    problems += [Problem(file, line, m) for line, m in near_duplicates(bank.questions)]
    problems += [Problem(file, line, m) for line, m in semantic_duplicates(bank.questions, allowed)]
    problems += [Problem(a.file, a.line, m) for a, m in unknown_allowed(bank, allowed)]
    problems += [Problem(file, 1, m) for m in position_balance(bank)]
    problems += [Problem(file, 1, m) for m in giveaways(bank)]
    problems += [Problem(file, 1, m) for m in coverage(bank, topics)]
    return sorted(problems, key=lambda p: (p.file != file, p.file, p.line))


# ---- one question ---------------------------------------------------------------------------


def question_problems(q: Question, known_ids: set[str] | None = None) -> list[str]:
    found = open_problems(q) if q.is_open else choice_problems(q)
    if not q.covers:
        found.append("covers is empty; name the topics it covers")
    elif known_ids is not None:
        unknown = [c for c in q.covers if c not in known_ids]
        if unknown:
            found.append(f"covers unknown topic ids: {', '.join(unknown)}")
    return found


def choice_problems(q: Question) -> list[str]:
    found = []
    if len(q.choices) != CHOICES:
        found.append(f"has {len(q.choices)} choices; the shipped bank uses exactly {CHOICES}")
    for number, choice in enumerate(q.choices, 1):
        if _CATCH_ALL.search(choice):
            found.append(f"choice {number} is a catch-all ({choice!r}); give a real option")
        if repeats_question(choice, q.question):
            found.append(f"choice {number} only repeats words of the question")
    found += _length_problems(q, ANSWER_WORDS, KEY_POINT_WORDS)
    if stands_out(q):
        found.append("the right choice is the only long one; make the wrong choices as specific")
    return found


def open_problems(q: Question) -> list[str]:
    found = _length_problems(q, OPEN_ANSWER_WORDS, OPEN_KEY_POINT_WORDS)
    low, high = OPEN_KEY_POINTS
    if not low <= len(q.key_points) <= high:
        found.append(f"an open-ended question has {len(q.key_points)} key points; give {low} to {high}, "
                     f"one checkable idea each")
    return found


def _length_problems(q: Question, answer_words: tuple[int, int], point_words: int) -> list[str]:
    found = []
    count = len(q.answer.split())
    if not answer_words[0] <= count <= answer_words[1]:
        kind = "an open-ended question's" if q.is_open else "the"
        found.append(f"{kind} answer has {count} words; keep it between {answer_words[0]} and {answer_words[1]}")
    for point in q.key_points:
        if len(point.split()) > point_words:
            found.append(f"key point {point!r} is over {point_words} words; a grader looks for short phrases")
    return found


def repeats_question(choice: str, question: str) -> bool:
    """All of a choice's content words are the question's (worked figures, with digits, are exempt)."""
    if any(ch.isdigit() for ch in choice):
        return False
    content = set(words(choice))
    return len(content) >= 2 and content <= set(words(question))


def stands_out(q: Question) -> bool:
    wrong = q.wrong_choices
    if not q.choices or not wrong:
        return False
    return len(q.correct_text) > LONG_RIGHT_RATIO * max(len(c) for c in wrong)


# ---- per level: position balance and giveaways ------------------------------------------------


def multiple_choice(bank: Bank, level: str) -> list[Question]:
    return [q for q in bank.of_level(level) if not q.is_open]


def position_balance(bank: Bank) -> list[str]:
    found = []
    for level in bank.levels:
        questions = multiple_choice(bank, level)
        if len(questions) < MIN_LEVEL_FOR_BALANCE:
            continue
        position, count = Counter(q.correct for q in questions).most_common(1)[0]
        if count / len(questions) > MAX_POSITION_SHARE:
            found.append(f"level '{level}': {count} of {len(questions)} right answers are choice {position} "
                         f"({count / len(questions):.0%} > {MAX_POSITION_SHARE:.0%}); spread them across 1..4")
    return found


def is_absolute(choice: str) -> bool:
    return _ABSOLUTE.search(choice.replace("\u2019", "'")) is not None


def strike_score(q: Question) -> float:
    """Expected score of striking every choice with absolute wording and guessing among the rest."""
    survivors = [i for i, c in enumerate(q.choices, 1) if not is_absolute(c)] or list(range(1, len(q.choices) + 1))
    return 1 / len(survivors) if q.correct in survivors else 0.0


def longest_score(q: Question) -> float:
    """Expected score of picking the longest choice, ties split evenly."""
    lengths = [len(c) for c in q.choices]
    longest = [i for i, n in enumerate(lengths, 1) if n == max(lengths)]
    return 1 / len(longest) if q.correct in longest else 0.0


def giveaway_figures(bank: Bank) -> dict[str, Giveaway]:
    """Per level with multiple-choice questions: what each blind strategy expects to score."""
    figures = {}
    for level in bank.levels:
        questions = multiple_choice(bank, level)
        if questions:
            figures[level] = Giveaway(len(questions), sum(map(strike_score, questions)) / len(questions),
                                      sum(map(longest_score, questions)) / len(questions))
    return figures


def giveaways(bank: Bank) -> list[str]:
    found = []
    for level, g in giveaway_figures(bank).items():
        if g.strike > MAX_GIVEAWAY or g.longest > MAX_GIVEAWAY:
            questions = multiple_choice(bank, level)
            worst = [q.id for q in questions if strike_score(q) >= 0.5 or longest_score(q) >= 0.5]
            found.append(
                f"level '{level}': a test-taker who never reads the question expects {g.strike:.1%} by striking "
                f"choices with absolute wording and {g.longest:.1%} by picking the longest choice, over {g.questions} "
                f"multiple-choice questions (limit {MAX_GIVEAWAY:.0%}; chance 25%); make the wrong choices as "
                f"plausible, specific and long as the right one. "
                f"Worst: {', '.join(worst[:8])}{' ...' if len(worst) > 8 else ''}")
    return found


# ---- across the bank: duplicates ----------------------------------------------------------


def _normalised(text: str) -> str:
    return " ".join(words(text))


def near_duplicates(questions: Sequence[Question]) -> list[tuple[int, str]]:
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


def idea_text(q: Question) -> str:
    """What a question asks and answers: its text and right choice, or its model answer's first sentence."""
    if q.is_open:
        first = _SENTENCE_END.split(" ".join(q.answer.split()), maxsplit=1)[0]
        return f"{q.question} {first}"
    return f"{q.question} {q.correct_text}"


@lru_cache(maxsize=1)
def _embedder() -> Any:  # a wordllama.WordLlama (the package has no type information)
    """The small wordllama model, from the weights inside the package (no download)."""
    import wordllama
    from wordllama import WordLlama

    return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)


def similarities(texts: Sequence[str]) -> np.ndarray:
    """Cosine similarity matrix of the texts' embeddings (a numpy array)."""
    vectors: np.ndarray = _embedder().embed(list(texts), norm=True)
    matrix: np.ndarray = vectors @ vectors.T
    return matrix


def similar_pairs(
    questions: Sequence[Question], threshold: float = SEMANTIC_DUPLICATE
) -> list[tuple[float, Question, Question]]:
    """Pairs above the threshold, most similar first."""
    if len(questions) < 2:
        return []
    scores = similarities([idea_text(q) for q in questions])
    pairs = [(float(scores[i][j]), questions[i], questions[j])
             for i in range(len(questions)) for j in range(i + 1, len(questions)) if scores[i][j] > threshold]
    return sorted(pairs, key=lambda p: -p[0])


def semantic_duplicates(questions: Sequence[Question], allowed: Iterable[AllowedPair] = ()) -> list[tuple[int, str]]:
    allowed_ids = {frozenset(a.ids) for a in allowed}
    found = []
    for score, a, b in similar_pairs(questions):
        if frozenset((a.id, b.id)) in allowed_ids:
            continue
        found.append((b.line, f"question '{b.id}' asks much the same idea as '{a.id}' (line {a.line}; embedding "
                              f"similarity {score:.2f} > {SEMANTIC_DUPLICATE}); merge them, make them test different "
                              f"things, or list the pair in the allow-list with a reason"))
    return found


def unknown_allowed(bank: Bank, allowed: Iterable[AllowedPair]) -> list[tuple[AllowedPair, str]]:
    found = []
    for entry in allowed:
        missing = [i for i in entry.ids if bank.get(i) is None]
        if missing:
            found.append((entry, f"allow-list pair {' / '.join(entry.ids)} names "
                                 f"{'an id' if len(missing) == 1 else 'ids'} not in the bank: {', '.join(missing)}"))
    return found


def load_allowed(path: Path = ALLOW_FILE) -> list[AllowedPair]:
    """The allow-list: `pairs:`, each with `pair: [id, id]` and a `reason`. ValueError when malformed."""
    import yaml

    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        raise ValueError(f"not valid YAML: {error}") from None
    if data is None or root is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("pairs") or [], list):
        raise ValueError("expected a mapping with 'pairs:', a list")
    nodes = next((v.value for k, v in root.value if getattr(k, "value", None) == "pairs"), None) or []
    result = []
    for number, (entry, node) in enumerate(zip(data.get("pairs") or [], nodes, strict=False), 1):
        line = node.start_mark.line + 1
        pair = entry.get("pair") if isinstance(entry, dict) else None
        reason = entry.get("reason") if isinstance(entry, dict) else None
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(i, str) for i in pair)
                and pair[0] != pair[1]):
            raise ValueError(f"line {line}: pair #{number} needs 'pair: [id, other-id]'")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"line {line}: pair #{number} ({' / '.join(pair)}) needs a 'reason'")
        result.append(AllowedPair((pair[0], pair[1]), reason.strip(), str(path), line))
    return result


# ---- topic coverage -------------------------------------------------------------------------


def load_topics(path: Path) -> TopicFile:
    """A topic list; ValueError when it has no usable `topics:`. See the module docstring for the minimums."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"not valid YAML: {error}") from None
    entries = data.get("topics") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries or not all(isinstance(t, dict) and "id" in t for t in entries):
        raise ValueError("expected 'topics:', a list of entries with an 'id'")
    topics = {str(t["id"]): str(t.get("topic", "")) for t in entries}
    several_levels = any("levels" in t for t in entries)
    return TopicFile(path, topics, 4 if several_levels else 3, 1 if several_levels else 0)


def coverage(bank: Bank, topics: Sequence[TopicFile]) -> list[str]:
    found = []
    for file in topics:
        for topic_id, name in file.topics.items():
            covering = [q for q in bank.questions if topic_id in q.covers]
            open_ended = sum(q.is_open for q in covering)
            label = f"topic {topic_id} ({name}) of {file.path.name}"
            if len(covering) < file.min_questions:
                found.append(f"{label} is covered by {len(covering)} question{'s' if len(covering) != 1 else ''}; "
                             f"it needs at least {file.min_questions}")
            if open_ended < file.min_open:
                found.append(f"{label} is covered by {open_ended} open-ended question{'s' if open_ended != 1 else ''}; "
                             f"it needs at least {file.min_open}")
    return found
