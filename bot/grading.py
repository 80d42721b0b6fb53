"""Grade a written answer against a question's key points.

A key point counts as made when most of its content words appear in the answer,
after folding case, spelling variants and word endings (a small stemmer of our
own), a short synonym list, and typos (rapidfuzz's similarity on longer words).
The score is the share of key points made. It rewards the ideas being named,
not their order or phrasing; it cannot see negation ("does NOT use attention"),
which is why a human still reads the thread.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

MAX_GRADED_CHARS = 20_000  # longer answers are stored whole but graded on their start
PASS_SCORE = 0.6  # a written answer at or above this counts as correct on its own
WORD_MATCH = 0.6  # share of a key point's content words that must appear
TYPO_SIMILARITY = 84  # rapidfuzz ratio for a word to count as a misspelling of another
TYPO_MIN_LENGTH = 5

STOPWORDS = frozenset(
    """a an the of to in on for by with from at as and or but nor not no is are was were be been being it its
    this that these those there their them they he she we you your our i me my so than then too very can could
    should would will may might must do does did done have has had having into onto over under about across
    more most less least such some any each every all both either neither one ones also just only which who whom
    whose what when where why how if else while until up down out off again further once here same other own e g
    eg ie etc via per""".split()
)

# Words a candidate may use for the same idea; each maps to one canonical stem.
SYNONYMS = {
    "llm": "model", "llms": "model", "network": "model", "networks": "model",
    "big": "large", "huge": "large", "massive": "large", "small": "small", "tiny": "small", "compact": "small",
    "fast": "fast", "quick": "fast", "faster": "fast", "quicker": "fast", "speed": "fast", "latency": "latency",
    "cheap": "cheap", "cheaper": "cheap", "inexpensive": "cheap", "cost": "cost", "costly": "cost",
    "expensive": "cost", "price": "cost", "compute": "compute", "computation": "compute", "computational": "compute",
    "word": "token", "words": "token", "subword": "subtoken", "subwords": "subtoken",
    "teacher": "teacher", "student": "student", "weight": "weight", "parameter": "weight", "parameters": "weight",
    "params": "weight", "bidirectional": "bidirect", "both": "bidirect", "left-to-right": "forward",
    "next": "next", "following": "next", "upcoming": "next", "predict": "predict", "prediction": "predict",
    "guess": "predict", "forecast": "predict", "hide": "mask", "hidden": "mask", "masked": "mask",
    "masking": "mask", "blank": "mask", "randomness": "random", "random": "random", "diversity": "random",
    "creativity": "random", "precision": "precision", "bits": "bit", "bit": "bit",
    "retrieve": "retriev", "retrieval": "retriev", "fetch": "retriev", "search": "retriev", "lookup": "retriev",
    "document": "document", "documents": "document", "docs": "document", "passage": "document",
    "passages": "document", "human": "human", "people": "human", "annotator": "human", "annotators": "human",
    "labeler": "human", "labelers": "human", "rater": "human", "raters": "human", "rank": "rank", "ranking": "rank",
    "prefer": "prefer", "preference": "prefer", "preferences": "prefer", "example": "example", "examples": "example",
    "demonstration": "example", "demonstrations": "example", "shot": "example", "shots": "example",
    "step": "step", "steps": "step", "stepwise": "step", "reasoning": "reason", "reason": "reason",
    "think": "reason", "thinking": "reason", "quadratic": "quadrat", "squared": "quadrat", "n2": "quadrat",
    "privacy": "privat", "private": "privat", "personal": "privat", "confidential": "privat",
    "remove": "remov", "strip": "remov", "delete": "remov", "redact": "remov", "mask": "mask",
    "bias": "bias", "biased": "bias", "unfair": "bias", "fairness": "fair", "fair": "fair",
    "monitor": "monitor", "monitoring": "monitor", "track": "monitor", "tracking": "monitor", "watch": "monitor",
    "drift": "drift", "shift": "drift", "shifts": "drift", "change": "chang", "changes": "chang",
    "retrain": "retrain", "retraining": "retrain", "refresh": "retrain", "update": "retrain",
    "vector": "vector", "vectors": "vector", "embedding": "embed", "embeddings": "embed", "dense": "dense",
    "meaning": "mean", "semantic": "mean", "semantics": "mean", "similar": "similar", "close": "similar",
    "nearby": "similar", "relevant": "relev", "relevance": "relev", "important": "relev", "focus": "attend",
    "attend": "attend", "attention": "attend", "parallel": "parallel", "simultaneously": "parallel",
    "concurrently": "parallel", "recurrence": "recur", "recurrent": "recur", "rnn": "recur", "rnns": "recur",
    "lstm": "recur", "lstms": "recur", "sequential": "sequenti", "sequentially": "sequenti",
    "hallucination": "hallucinat", "hallucinate": "hallucinat", "fabricate": "hallucinat", "invent": "hallucinat",
    "verify": "verif", "check": "verif", "validate": "verif", "source": "source", "sources": "source",
    "citation": "source", "cite": "source", "accuracy": "accura", "accurate": "accura", "correct": "accura",
    "users": "user", "user": "user", "customer": "user", "customers": "user",
}

_SUFFIXES = (
    "izations", "ization", "isations", "isation", "ational", "fulness", "iveness", "ements", "ement",
    "ations", "ation", "ities", "ity", "ness", "ments", "ment", "ings", "ing", "ised", "ized", "ises", "izes",
    "ise", "ize", "ers", "er", "ies", "ied", "ed", "ly", "es", "s", "al", "ive",
)
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


@dataclass(frozen=True)
class Grade:
    score: float  # 0..1: share of key points made
    found: tuple[bool, ...]  # per key point, in the question's order

    @property
    def passed(self) -> bool:
        return self.score >= PASS_SCORE


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """A light stemmer: canonical synonym, else the word minus one common ending."""
    if word in SYNONYMS:
        return SYNONYMS[word]
    if len(word) <= 4:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            base = word[: -len(suffix)]
            return SYNONYMS.get(base, base)
    return word


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def words(text: str) -> list[str]:
    """Content words of a text, in order, before stemming."""
    found = []
    for token in _WORD.findall(_fold(text)):
        for part in token.replace("'", "").split("-") if "-" in token and token not in SYNONYMS else [token]:
            if part and part not in STOPWORDS:
                found.append(part)
    return found


@lru_cache(maxsize=4096)
def key_stems(key_point: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(stem(w) for w in words(key_point)))


def grade(text: str, key_points: tuple[str, ...] | list[str]) -> Grade:
    stems = {stem(w) for w in words(text[:MAX_GRADED_CHARS])}
    fuzzy_pool = [s for s in stems if len(s) >= TYPO_MIN_LENGTH - 1]
    found = tuple(_made(key_stems(point), stems, fuzzy_pool) for point in key_points)
    score = sum(found) / len(found) if found else 0.0
    return Grade(score=round(score, 3), found=found)


def _made(needed: tuple[str, ...], stems: set[str], fuzzy_pool: list[str]) -> bool:
    if not needed:
        return False
    hits = 0
    for word in needed:
        if word in stems or _typo_of(word, fuzzy_pool):
            hits += 1
    return hits / len(needed) >= WORD_MATCH


def _typo_of(word: str, pool: list[str]) -> bool:
    if len(word) < TYPO_MIN_LENGTH or not pool:
        return False
    return process.extractOne(word, pool, scorer=fuzz.ratio, score_cutoff=TYPO_SIMILARITY) is not None


def points_for(score: float) -> int:
    """Leaderboard points for a written answer in a channel round (0..10)."""
    return round(10 * max(0.0, min(1.0, score)))
