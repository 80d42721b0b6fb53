"""Grade a written answer against a question's key points and choices.

Words are compared after folding case and accents, a light stemmer of our own
(plurals, -ing, -ation, -ise/-ize, ...), the field's synonym table
(bot/synonyms.txt), and typo tolerance (rapidfuzz ratio on words of 5+ letters).

- A key point is *made* when at least 40% of its content words appear.
- The *core* is the share of the right choice's content words the answer states:
  the one idea the question turns on.
- A *misconception*: the answer states little of the right choice (core < 0.4)
  and much of a wrong one (>= 0.4); it costs MISCONCEPTION_PENALTY.

score = 0.3 x (share of key points made) + 0.7 x core - penalty, in 0..1. The
score sets the points and the review rating. The verdict adds credit for an
explanation of some length (up to +0.3 at 25 content words), as interviewers
do: good when score + credit >= 0.45 and score >= 0.3 (so length alone never
makes an answer good), partial when score + credit >= 0.175, else wrong.
The weights and bands were fitted on the labelled answers in
tests/data/graded_answers.yaml; tests/test_grading.py reports the agreement.
The grader cannot see negation ("does NOT use attention"), which is why reveals
show every written answer's key points to the whole channel.
"""

import re
import unicodedata
from pathlib import Path
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

MAX_GRADED_CHARS = 20_000  # longer answers are stored whole but graded on their start
KEY_WEIGHT, CORE_WEIGHT = 0.3, 0.7
MADE_AT = 0.4  # share of a key point's content words that makes it
MISCONCEPTION_CORE, MISCONCEPTION_WRONG, MISCONCEPTION_PENALTY = 0.4, 0.4, 0.3
ELABORATION_CREDIT, ELABORATION_WORDS = 0.3, 25
GOOD_BAND, GOOD_MIN_SCORE = 0.45, 0.3  # good: score + credit >= 0.45 and score >= 0.3 (counts as correct)
PARTIAL_BAND = 0.175  # partial: score + credit >= 0.175; below: wrong
TYPO_SIMILARITY = 84
TYPO_MIN_LENGTH = 5

STOPWORDS = frozenset(
    """a an the of to in on for by with from at as and or but nor not no is are was were be been being it its
    this that these those there their them they he she we you your our i me my so than then too very can could
    should would will may might must do does did done have has had having into onto over under about across
    more most less least such some any each every all both either neither also just only which who whom whose
    what when where why how if else while until up out off again further once here same other own eg ie etc via
    per like get gets got make makes made use uses used using really basically thing things stuff way lot lots
    kind sort bit one ones""".split()
)

# Paraphrases a candidate may use for the same idea: bot/synonyms.txt, one group per line, canonical word first.
SYNONYMS_FILE = Path(__file__).resolve().parent / "synonyms.txt"


_SUFFIXES = (
    "izations", "ization", "isations", "isation", "ational", "fulness", "iveness", "ements", "ement", "ations",
    "ation", "itions", "ition", "ities", "ity", "nesses", "ness", "ments", "ment", "izers", "izer", "isers", "iser",
    "ingly", "ings", "ing", "ised", "ized", "ises", "izes", "ise", "ize", "edly", "ed", "ly", "ers", "er", "al",
    "ive", "ous", "ible", "able", "ance", "ence", "ant", "ent",
)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _strip(word: str) -> str:
    if len(word) > 3:
        if word.endswith("ies") and len(word) > 4:
            word = word[:-3] + "y"
        elif word.endswith(("sses", "ches", "shes", "xes", "zes")):
            word = word[:-2]
        elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    return word


def _synonym_map(path: Path = SYNONYMS_FILE) -> dict[str, str]:
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        members = line.split("#", 1)[0].split()
        for member in members:
            table.setdefault(_strip(member), _strip(members[0]))
    return table


_SYNONYMS = _synonym_map()


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """Light stemming, then the synonym table."""
    base = _strip(word)
    return _SYNONYMS.get(base, base)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def words(text: str) -> list[str]:
    """Content words, in order: no stopwords, no single letters (d_k gives 'dk')."""
    folded = _fold(text).replace("_", "").replace("'s ", " ")
    return [w.replace("'", "") for w in _WORD.findall(folded) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


@lru_cache(maxsize=8192)
def content(text: str) -> tuple[tuple[str, str], ...]:
    """(word, stem) pairs of a key point or choice, once each."""
    seen: dict[str, str] = {}
    for word in words(text):
        seen.setdefault(stem(word), word)
    return tuple((w, s) for s, w in seen.items())


@dataclass(frozen=True)
class Grade:
    score: float  # 0..1: what the answer shows it knows; sets points and review ratings
    found: tuple[bool, ...]  # per key point, in the question's order
    core: float = 0.0  # how much of the right choice the answer states
    misconception: bool = False
    verdict: str = "wrong"  # good, partial or wrong, as an interviewer would say

    @property
    def passed(self) -> bool:
        return self.verdict == "good"


class _Answer:
    """An answer's words, ready to be searched."""

    def __init__(self, text: str) -> None:
        raw = words(text[:MAX_GRADED_CHARS])
        self.stems = {stem(w) for w in raw}
        self.long_words = sorted({w for w in raw if len(w) >= TYPO_MIN_LENGTH})

    def coverage(self, needed: tuple[tuple[str, str], ...]) -> float:
        if not needed:
            return 0.0
        return sum(1 for word, s in needed if s in self.stems or self._typo(word)) / len(needed)

    def _typo(self, word: str) -> bool:
        if len(word) < TYPO_MIN_LENGTH or not self.long_words:
            return False
        return process.extractOne(word, self.long_words, scorer=fuzz.ratio, score_cutoff=TYPO_SIMILARITY) is not None


def grade(text: str, key_points: tuple[str, ...] | list[str], right: str = "", wrong: tuple[str, ...] = ()) -> Grade:
    """Grade `text`; `right` is the right choice's text and `wrong` the others (without them: key points only)."""
    answer = _Answer(text)
    found = tuple(answer.coverage(content(p)) >= MADE_AT for p in key_points)
    made = sum(found) / len(found) if found else 0.0
    core = answer.coverage(content(right)) if right else made
    misconception = core < MISCONCEPTION_CORE and any(answer.coverage(content(w)) >= MISCONCEPTION_WRONG for w in wrong)
    raw = KEY_WEIGHT * made + CORE_WEIGHT * core - (MISCONCEPTION_PENALTY if misconception else 0.0)
    verdict = _verdict(raw, len(answer.stems))  # unclamped: a misconception keeps its whole penalty here
    return Grade(round(min(1.0, max(0.0, raw)), 3), found, round(core, 3), misconception, verdict)


def _verdict(score: float, content_words: int) -> str:
    band = score + ELABORATION_CREDIT * min(1.0, content_words / ELABORATION_WORDS)
    if band >= GOOD_BAND and score >= GOOD_MIN_SCORE:
        return "good"
    return "partial" if band >= PARTIAL_BAND else "wrong"


def grade_question(text: str, question) -> Grade:
    """Grade against a bank question: its key points, right choice and wrong choices."""
    wrong = tuple(c for i, c in enumerate(question.choices, 1) if i != question.correct)
    return grade(text, question.key_points, question.correct_text, wrong)


def points_for(score: float) -> int:
    """Leaderboard points for a written answer in a channel round (0..10)."""
    return round(10 * max(0.0, min(1.0, score)))
