"""Grade a written answer against a question's key points, model answer and choices.

The method, the fitted figures and what the grader cannot see: docs/grading.md. In short:

1. The answer is cut into units: sentences, bullets and lines, and the clauses inside them.
   Repeated units count once and every 8-word run said before is cut out of the text; the
   question text pasted back is dropped; copies of two or more different choices are dropped (pasting
   the choices back states nothing). Every signal below is computed from what is left, so
   padding and repetition cannot add to it.
2. Each key point is compared with each unit: a semantic cosine (WordLlama static embeddings,
   weights shipped in the wheel, loaded once, offline) and lexical signals (content words
   after a light stemmer, the field's synonym table bot/synonyms.txt, typo tolerance). A bank question's
   key points come with phrasings (bot/phrasings.yaml): sentences that say each one as members write
   it, matched the same way (a key point counts as well made as its best-matched phrasing), and untrue
   sentences in its words, whose closer match counts against it. Such a question's texts are pooled with a weight
   per token (bot/token_weights.txt: "only" and "never" count more, "tokens" and "model" less).
3. Contradiction cues cancel a key point that is matched by its words but stated the other
   way: a negation just before most of the matched words (when the key point has none),
   an antonym of a key point word ("bidirectional" for "causal"), a number that neither the
   key point, the question nor the model answer has, and swapped roles (the answer puts a key
   point's attribute next to the other term the question names: "ROUGE is precision-based").
4. A logistic model turns the key point signals into a probability; a key point is *found*
   when that probability reaches KEY_POINT_FOUND and no contradiction cancels it.
5. The score (0..1) is a least-squares fit (good = 1, partial = 0.5, wrong = 0) over few signals, each scaled per
   question (0 where the question's wrong choices, graded as answers, stand, 1 where its model answer stands): how
   on topic the answer is (a level that fades to 0 towards "I don't know"), the mean key point probability, the
   model-answer similarity, and the margin of the right choice over the best wrong one (multiple-choice questions).
   Leave-one-question-out cross-validation chose these few (SCORE_FEATURES_*); the fit keeps every weight but the
   margin's non-negative, so more evidence never lowers the score. An answer barely more on topic than "I don't
   know" scores 0. Open-ended questions use their own weights (no choices), mapped onto the same bands.
6. The verdict follows fixed bands on that score alone: good >= GOOD_AT, partial >=
   PARTIAL_AT, else wrong. A wrong verdict earns no points (points_for).

The key-point-only weights were fitted on tests/data/graded_answers.yaml and graded_answers_heldout.yaml, the
weights with phrasings (*_PHRASED) on those and tests/data/grading_fit_*.yaml (benchmarks/grading_fit.py, which
also reports leave-one-question-out cross-validation).
Figures and limits: docs/grading.md.
"""

from __future__ import annotations

import bisect
import logging
import math
import operator
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

if TYPE_CHECKING:  # numpy comes with wordllama; imported lazily so that importing this module stays cheap
    import numpy as np
    from tokenizers import Tokenizer

    from bot.models import Question

log = logging.getLogger(__name__)

MAX_GRADED_CHARS = 20_000  # longer answers are stored whole but graded on their start
TYPO_SIMILARITY = 84
TYPO_MIN_LENGTH = 5
REPEAT_RUN = 8  # a run of this many words seen before in the same unit is a repetition
NEGATION_WINDOW = 3  # words before a matched key point word where a negation reverses it
ECHO_SIMILARITY = 92  # a unit this close to the question text (or a choice) is a copy of it

# ---- fitted by benchmarks/grading_fit.py on the 170 fitting answers (values printed by that script) ----
# key point probability: logistic over [1, semantic, semantic above the question's own, words in the best unit,
# words anywhere, soft word match]
KEY_POINT_WEIGHTS = (-2.998, 1.245, 2.357, 0.294, 1.321, 2.543)
KEY_POINT_FOUND = 0.79  # probability from which a key point counts as made (chosen for precision)
# score: a least-squares fit (good = 1, partial = 0.5, wrong = 0) over score_features(): [1, on topic, mean key point
# probability, best key point probability, right-choice similarity, model-answer similarity (those four scaled per
# question between its floor and its model answer), right-choice margin over the wrong ones, -contradicted share].
# Leave-one-question-out cross-validation chose the features a mode may use (SCORE_FEATURES_CHOICE / _OPEN);
# the others carry weight 0.
SCORE_WEIGHTS_CHOICE = (0.0, 0.468, 0.55, 0.0, 0.0, 0.0, 0.662, 0.0)
SCORE_WEIGHTS_OPEN = (-0.04, 0.175, 1.022, 0.0, 0.0, 0.0, 0.0, 0.0)  # open-ended questions: no choices to compare
SCORE_FEATURES_CHOICE = (1, 2, 5, 6)  # on topic, mean key point probability, model-answer similarity, margin
SCORE_FEATURES_OPEN = (1, 2, 5)
# ---- with phrasings (bot/phrasings.yaml: how candidates say each key point, and state it falsely), fitted by
# benchmarks/grading_fit.py --phrasings on all 620 fitting answers. Key point probability: the same signals, each
# the best over the key point and its phrasings (less the words-in-one-unit share, left out), then the
# false-statement gap (Signals.false_gap), the one negative weight, and the lead over the other key points
# (Signals.lead).
KEY_POINT_WEIGHTS_PHRASED = (-3.868, -0.31, 1.878, 0.0, 2.347, 2.898, -3.714, 2.862)
KEY_POINT_FOUND_PHRASED = 0.83  # chosen for precision >= 92% on the 620 (not 93%: see grading_fit.py)
SCORE_WEIGHTS_CHOICE_PHRASED = (0.181, 0.245, 0.303, 0.0, 0.0, 0.0, 0.293, 0.0)
SCORE_WEIGHTS_OPEN_PHRASED = (0.01, 0.225, 0.925, 0.0, 0.0, 0.0, 0.0, 0.0)
ON_TOPIC_FROM = 0.12  # below this share of the way from "I don't know" to the model answer, an answer scores 0
# The on-topic level reaches 1 at this share of the way (a third without phrasings). With phrasings, half: at a third,
# a good answer to another question, in the field's words, reached partial on the on-topic level alone (CV: 23%
# of such answers not called wrong, against 6% at half; exact agreement within noise, docs/grading.md).
ON_TOPIC_FULL, ON_TOPIC_FULL_PHRASED = 1 / 3, 0.5
GOOD_AT, PARTIAL_AT = 0.52, 0.38  # verdict bands on the score: good >= GOOD_AT, partial >= PARTIAL_AT, else wrong

STOPWORDS = frozenset(
    """a an the of to in on for by with from at as and or but nor not no is are was were be been being it its
    this that these those there their them they he she we you your our i me my so than then too very can could
    should would will may might must do does did done have has had having into onto over under about across
    more most less least such some any each every all both either neither also just only which who whom whose
    what when where why how if else while until up out off again further once here same other own eg ie etc via
    per like get gets got make makes made use uses used using really basically thing things stuff way lot lots
    kind sort bit one ones""".split()
)
NEGATIONS = frozenset(
    """not no never cannot cant can't dont don't doesnt doesn't didnt didn't isnt isn't arent aren't wasnt wasn't
    werent weren't wont won't shouldnt shouldn't couldnt couldn't wouldnt wouldn't hasnt hasn't havent haven't
    without nothing none neither nor nobody instead rather avoid avoids avoiding avoided prevent prevents stop stops
    lack lacks unable ignore ignores ignoring unchanged""".split()
)
NOT_NEGATING = frozenset({"only", "just", "matter", "sure", "doubt"})  # "not only", "no matter", ...
# Words that, used in place of a key point's word, state the opposite (both directions).
ANTONYMS = (
    ("causal", "bidirectional"), ("precision", "recall"), ("encoder", "decoder"), ("increase", "decrease"),
    ("faster", "slower"), ("larger", "smaller"), ("higher", "lower"), ("more", "fewer"), ("before", "after"),
    ("input", "output"), ("local", "global"), ("frozen", "updated"), ("frozen", "trainable"),
    ("linear", "quadratic"), ("dense", "sparse"), ("shorter", "longer"), ("cheaper", "costlier"),
    ("first", "last"), ("minimum", "maximum"), ("tail", "average"), ("tail", "mean"), ("same", "different"),
    ("deterministic", "random"), ("supervised", "unsupervised"), ("memory", "compute"),
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
_NUMBER = re.compile(r"(?<![a-z0-9.])\d+(?:\.\d+)?")
_THOUSANDS = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)k\b")
_SENTENCES = re.compile(r"(?<=[.!?;])\s+|\s*\n\s*|\s+[-*\u2022]\s+|\s+(?:\(?[a-d1-9][.)])\s+|\s+[/|]\s+")
_LIST_MARK = re.compile(r"\(?(?:\d{1,2}|[a-zA-Z])[.):]?")  # "1.", "b)", "(c)": a list's marker, not a statement
_CLAUSES = re.compile(
    r",\s+|:\s+|\s+[-\u2013\u2014]{1,2}\s+|\s+\((?=\w)|\)\s*"
    r"|\s+(?=(?:so|because|but|whereas|while|which|since|although|though|instead|rather than|otherwise)\s)"
)


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


_OPPOSITE: dict[str, frozenset[str]] = {}
for _a, _b in ANTONYMS:
    _OPPOSITE[stem(_a)] = _OPPOSITE.get(stem(_a), frozenset()) | {stem(_b)}
    _OPPOSITE[stem(_b)] = _OPPOSITE.get(stem(_b), frozenset()) | {stem(_a)}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _normal(text: str) -> str:
    """Folded to plain lower case; 2,000 is 2000, d_k is dk, the possessive 's goes."""
    return re.sub(r"(?<=\d),(?=\d{3})", "", _fold(text)).replace("_", "").replace("'s ", " ")


def _tokens(text: str) -> list[str]:
    """All words, folded, in order (stopwords kept: negations and word distances need them)."""
    return _WORD.findall(_normal(text))


def _is_content(word: str) -> bool:
    return word not in STOPWORDS and (len(word) > 1 or word.isdigit())


def words(text: str) -> list[str]:
    """Content words, in order: no stopwords, no single letters (d_k gives 'dk')."""
    return [w.replace("'", "") for w in _tokens(text) if _is_content(w)]


@lru_cache(maxsize=8192)
def content(text: str) -> tuple[tuple[str, str], ...]:
    """(word, stem) pairs of a key point or choice, once each."""
    seen: dict[str, str] = {}
    for word in words(text):
        seen.setdefault(stem(word), word)
    return tuple((w, s) for s, w in seen.items())


def _numbers(text: str) -> set[str]:
    folded = re.sub(r"(?<=\d),(?=\d{3})", "", _fold(text))
    folded = _THOUSANDS.sub(lambda m: f"{float(m.group(1)) * 1000:.3f}".rstrip("0").rstrip("."), folded)  # 10k
    return {n.rstrip("0").rstrip(".") if "." in n else n for n in _NUMBER.findall(folded)}


def _near_any(number: str, allowed: set[str]) -> bool:
    """Within 5% of an allowed number: "~5.7" for "about 6" and "90-odd" for "about 94" are not wrong numbers;
    2,900 for 2,700 or 18% for 17% are."""
    value = float(number)
    return any(abs(value - float(a)) <= 0.05 * max(abs(value), abs(float(a))) + 1e-9 for a in allowed)


# ---- the embedding model: loaded once, lazily, offline --------------------------------------------

_model: tuple[Tokenizer, np.ndarray] | None = None
_model_lock = threading.Lock()
WEIGHTS = ("weights", "l2_supercat_256.safetensors")  # WordLlama's 256-dimension model, inside its wheel
TOKENIZER = ("tokenizers", "l2_supercat_tokenizer_config.json")


def _wordllama() -> tuple[Tokenizer, np.ndarray]:
    """WordLlama's tokenizer and token embeddings (32,000 x 256, float16), loaded once, from the wheel, offline.

    WordLlama.load(cache_dir=<package>, disable_download=True) reads these same two files; reading them directly
    gives the same embeddings (tests/test_grading.py checks) without importing the package, whose loader brings
    pydantic and requests along (+30 MB RSS, +0.3 s). Nothing is ever downloaded."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                import importlib.util

                from safetensors.numpy import load_file
                from tokenizers import Tokenizer

                spec = importlib.util.find_spec("wordllama")
                if spec is None or not spec.submodule_search_locations:
                    raise RuntimeError("the wordllama package is not installed (pip install wordllama)")
                root = Path(spec.submodule_search_locations[0])
                tokenizer = Tokenizer.from_file(str(root.joinpath(*TOKENIZER)))
                tokenizer.no_padding()
                tokenizer.no_truncation()
                _model = (tokenizer, load_file(str(root.joinpath(*WEIGHTS)))["embedding.weight"])
    return _model


@lru_cache(maxsize=20_000)
def _word_ids(word: str) -> tuple[int, ...]:
    """A word's token ids (a text's ids are its words' ids in turn: the tokenizer splits at spaces)."""
    return tuple(_wordllama()[0].encode(word, add_special_tokens=False).ids)


TOKEN_WEIGHTS_FILE = Path(__file__).resolve().parent / "token_weights.txt"


@lru_cache(maxsize=1)
def _token_weights() -> np.ndarray:
    """One weight per token for pooling a phrased question's texts (TOKEN_WEIGHTS_FILE, fitted by
    benchmarks/fit_token_weights.py): WordLlama's plain mean lets "model" and "tokens", near every key point of an
    LLM question, weigh as much as "only" or "never". A missing file, or a line that does not read, weighs 1."""
    import numpy as np

    tokenizer, table = _wordllama()
    weights = np.ones(table.shape[0], dtype=np.float32)
    try:
        lines = TOKEN_WEIGHTS_FILE.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    other = 0
    for line in lines:
        fields = line.split("\t")
        if line.startswith("#") or len(fields) != 3:
            continue
        try:
            token, weight = int(fields[0]), float(fields[2])
        except ValueError:
            continue
        if not (0 <= token < len(weights) and 0.0 < weight < 100.0):
            continue
        if tokenizer.id_to_token(token) != fields[1]:  # another WordLlama vocabulary: that id is another token
            other += 1
            continue
        weights[token] = weight
    if other:
        log.warning("%s: %d token ids name other tokens in this WordLlama; those weigh 1 (refit with "
                    "benchmarks/fit_token_weights.py)", TOKEN_WEIGHTS_FILE.name, other)
    return weights


def _embed(texts: list[str], whole: bool = False, weighted: bool = False) -> np.ndarray:
    """Unit-length embeddings (the mean of the text's token embeddings, as WordLlama pools), one row per text;
    with whole=True one more row last: all the texts' tokens pooled together. weighted: each token counts by its
    weight (_token_weights), as for a question with phrasings, whose constants were fitted that way."""
    import numpy as np

    table = _wordllama()[1]
    per_text = [[i for w in text.split() for i in _word_ids(w)] for text in texts]
    lengths = [len(ids) for ids in per_text]
    ids = np.clip(np.fromiter((i for ids in per_text for i in ids), dtype=np.int64, count=sum(lengths)),
                  0, table.shape[0] - 1)
    gathered = table[ids]
    if weighted:  # a weighted mean's direction is the weighted sum's, and only directions are kept
        gathered = gathered * _token_weights()[ids][:, None]
    sums = np.zeros((len(texts) + whole, table.shape[1]), dtype=np.float32)
    # One sum per text: np.add.reduceat along the rows is 4-6 times slower on a long answer (15 ms for 7,000
    # tokens, where these slices take 2.5 ms), and no faster on short ones.
    end = 0
    for row, length in enumerate(lengths):
        if length:
            sums[row] = gathered[end:end + length].sum(axis=0, dtype=np.float32)
        end += length
    if whole:
        sums[-1] = gathered.sum(axis=0, dtype=np.float32)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)  # the mean's direction is the sum's
    return sums / np.where(norms == 0, 1.0, norms)


def _vectors_of_words(items: list[str], weighted: bool = False) -> np.ndarray:
    """Unit-length embeddings of single words."""
    return _embed(items, weighted=weighted)


# ---- phrasings: how candidates say each key point, and how they state it falsely ----------------------

PHRASINGS_FILE = Path(__file__).resolve().parent / "phrasings.yaml"


@dataclass(frozen=True)
class Phrasing:
    say: tuple[str, ...] = ()  # sentences that make the key point, in the words members use
    untrue: tuple[str, ...] = ()  # sentences that use its words but state something false


Phrasings = tuple[Phrasing, ...]  # per key point, in the question's order


@lru_cache(maxsize=1)
def _phrasing_blocks(path: Path = PHRASINGS_FILE) -> dict[str, str]:
    """question id -> its block of the file, unparsed: parsing all of it at once would cost ~20 MB of RSS for what a
    process mostly never grades. A missing or unreadable file means no phrasings."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    starts = [m.start() for m in re.finditer(r"(?m)^[^\s#][^:\n]*:\s*$", text)]
    return {text[a:text.index(":", a)].strip().strip("'\""): text[a:b] for a, b in zip(starts, [*starts[1:], len(text)],
                                                                                      strict=True)}


@lru_cache(maxsize=64)
def _phrasings_of(question_id: str) -> dict[str, Phrasing]:
    """key point text -> its phrasings, for one question (an unreadable block counts as none)."""
    import yaml

    block = _phrasing_blocks().get(question_id)
    try:
        raw = yaml.load(block, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if block else None
    except yaml.YAMLError:
        return {}
    points = next(iter(raw.values()), None) if isinstance(raw, dict) else None
    if not isinstance(points, dict):
        return {}
    return {str(point): Phrasing(tuple(map(str, entry.get("say") or ())), tuple(map(str, entry.get("untrue") or ())))
            for point, entry in points.items() if isinstance(entry, dict)}


def phrasings_for(question: Question) -> Phrasings:
    """The question's phrasings, per key point; () when it has none. They are matched by the key point's text, so
    a key point that was reworded since its phrasings were written simply has none until they are rewritten."""
    mine = _phrasings_of(question.id)
    if not mine:
        return ()
    found = tuple(mine.get(point, Phrasing()) for point in question.key_points)
    return found if any(p.say for p in found) else ()


# ---- the reference: what a question's answers are compared with (cached per question) ----------


@dataclass
class _Point:
    text: str
    content: tuple[tuple[str, str], ...]
    stems: frozenset[str]
    negated: bool
    numbers: set[str]
    entities: frozenset[str]  # the key point's words that the question names (terms whose roles can be swapped)


@dataclass
class _Reference:
    points: list[_Point]  # the key points
    # Rows: the key points, then every phrasing of them, each matched like a key point of its own
    says: list[list[int]]  # per key point: its rows that say it (itself first, then its phrasings)
    falses: list[list[int]]  # per key point: its rows that state it falsely
    point_vectors: np.ndarray  # per row
    point_baseline: np.ndarray  # per row: its similarity to the question text itself
    question_tokens: str
    question_stems: frozenset[str]
    choices: list[str]  # right choice first (if any), then the wrong ones
    choice_tokens: list[str]
    choice_vectors: np.ndarray
    has_right: bool
    model_vector: np.ndarray | None
    model_baseline: float
    allowed_numbers: set[str]
    entities: frozenset[str]
    point_words: list[tuple[str, str]]  # the rows' distinct content words (word, stem)
    word_vectors: np.ndarray  # one per point word
    row_words: np.ndarray  # rows x point words, 1 where the row has the word (uint8: small to keep)
    row_sizes: np.ndarray  # per row: its number of content words (at least 1)
    phrased: bool = False  # a key point has phrasings: graded with the *_PHRASED constants and weighted tokens


_CONTRAST = frozenset({"and", "or", "vs", "versus", "than", "from", "with"})


def _contrasted(question: str) -> frozenset[str]:
    """Terms the question sets against each other ("BLEU and ROUGE", "X rather than Y"): the content words
    next to a connecting word, whose roles an answer can swap."""
    tokens = _tokens(question)
    terms: set[str] = set()
    for i, t in enumerate(tokens):
        if t in _CONTRAST and 0 < i < len(tokens) - 1 and _is_content(tokens[i - 1]) and _is_content(tokens[i + 1]):
            terms.update((stem(tokens[i - 1]), stem(tokens[i + 1])))
    return frozenset(terms)


def _point(text: str, question: str) -> _Point:
    stems = frozenset(s for _, s in content(text))
    return _Point(text, content(text), stems, any(t in NEGATIONS for t in _tokens(text)), _numbers(text),
                  stems & _contrasted(question))


# A phrased question's reference holds ~40 rows of vectors and ~170 words (~150 KB): the caches keep the questions
# graded lately (a channel's rounds and its members' own questions), not the whole bank.
CACHED_QUESTIONS = 32


@lru_cache(maxsize=CACHED_QUESTIONS)
def _reference(key_points: tuple[str, ...], right: str, wrong: tuple[str, ...], question: str,
               model_answer: str, phrasings: Phrasings = ()) -> _Reference:
    import numpy as np

    question_stems = frozenset(stem(w) for w in words(question))
    n = len(key_points)
    points = [_point(text, question) for text in key_points]
    entities = _contrasted(question) & frozenset().union(*(p.stems for p in points)) if points else frozenset()
    # Each key point's phrasings are matched like key points of their own (after the real ones), then folded back
    # into their key point by signals(). Numbers and contrasted terms come from the real key points only: a false
    # phrasing's wrong number must not become an allowed one.
    says: list[list[int]] = [[k] for k in range(n)]
    falses: list[list[int]] = [[] for _ in range(n)]
    texts = list(key_points)
    for k, phrasing in enumerate(phrasings[:n]):
        for group, sentences in ((says[k], phrasing.say), (falses[k], phrasing.untrue)):
            group.extend(range(len(texts), len(texts) + len(sentences)))
            texts.extend(sentences)
    # (content's cache is for answers' units: the bank's ~15,000 phrasings would only crowd it)
    matched = [p.content for p in points] + [content.__wrapped__(text) for text in texts[n:]]
    choices = ([right] if right else []) + list(wrong)
    phrased = any(len(say) > 1 for say in says)
    vectors = _embed(texts + choices + [question or " ", model_answer or " "], weighted=phrased)
    m = len(texts)
    point_words = sorted({pair for words_ in matched for pair in words_})  # phrasings share most of their words
    word_row = {pair: i for i, pair in enumerate(point_words)}
    row_words = np.zeros((m, len(point_words)), dtype=np.uint8)
    for row, words_ in enumerate(matched):
        row_words[row, [word_row[pair] for pair in words_]] = 1
    question_vector = vectors[m + len(choices)]
    model_vector = vectors[m + len(choices) + 1] if model_answer else None
    return _Reference(
        points=points,
        says=says,
        falses=falses,
        point_vectors=vectors[:m],
        point_baseline=vectors[:m] @ question_vector if question else vectors[:m, 0] * 0,
        question_tokens=" ".join(_tokens(question)),
        question_stems=question_stems,
        choices=choices,
        choice_tokens=[" ".join(_tokens(c)) for c in choices],
        choice_vectors=vectors[m:m + len(choices)],
        has_right=bool(right),
        model_vector=model_vector,
        model_baseline=float(model_vector @ question_vector) if model_vector is not None and question else 0.0,
        allowed_numbers=set().union(_numbers(question), _numbers(model_answer), *(p.numbers for p in points)),
        entities=entities if len(entities) >= 2 else frozenset(),
        point_words=point_words,
        word_vectors=_vectors_of_words([w for w, _ in point_words], phrased).astype(np.float16),  # half the memory
        row_words=row_words,
        row_sizes=np.maximum(1, row_words.sum(axis=1)).astype(np.float32),
        phrased=phrased,
    )


# ---- the answer: units, with copies and repetitions taken out ------------------------------------


@dataclass
class _Unit:
    text: str
    tokens: list[str]
    stems: list[str]  # per token ("" for a stopword)
    leaf: bool = True  # a clause, or a sentence with no clauses (contradictions are read in leaves)
    sentence: str = ""  # the sentence a clause comes from (numbers are read there)


def _split(text: str) -> list[tuple[str, list[str]]]:
    """Each sentence (or bullet, or line) with its clauses when it has more than one."""
    units = []
    for sentence in _SENTENCES.split(text):
        sentence = sentence.strip(" \t-*\u2022")
        if sentence and not _LIST_MARK.fullmatch(sentence):
            clauses = [c.strip() for c in _CLAUSES.split(sentence) if c and c.strip()]
            units.append((sentence, clauses if len(clauses) > 1 else []))
    return units


def _without_repeats(sentence: str) -> str:
    """The text less every run of REPEAT_RUN words already seen earlier in it, cut out of the text itself (so
    that what is left splits into the same sentences and clauses as the text said once). The work per word runs
    in C (map, dict, numpy): a pasted wall of text has thousands of words."""
    import numpy as np

    words_at = list(_WORD.finditer(sentence))
    n = len(words_at)
    if n < 2 * REPEAT_RUN:
        return sentence
    tokens = list(map(re.Match.group, words_at))
    runs = list(zip(*(tokens[k:] for k in range(REPEAT_RUN)), strict=False))  # each run of REPEAT_RUN words
    first = dict(zip(reversed(runs), range(len(runs) - 1, -1, -1), strict=True))  # where each run first appears
    repeated = np.fromiter(map(operator.ne, map(first.__getitem__, runs), range(len(runs))), dtype=np.int8,
                           count=len(runs))
    if not repeated.any():
        return sentence
    dropped = np.convolve(repeated, np.ones(REPEAT_RUN, dtype=np.int8))[:n] > 0  # the words of a repeated run
    edges = np.flatnonzero(np.diff(dropped.astype(np.int8), prepend=0, append=0)).tolist()
    out, cursor = [], 0
    for first_word, after in zip(edges[::2], edges[1::2], strict=True):  # each stretch of dropped words
        out.append(sentence[cursor:words_at[first_word].start()])
        cursor = words_at[after].start() if after < n else len(sentence)
    out.append(sentence[cursor:])
    return "".join(out).strip()


def _copy_of(unit: str, source: str, whole: bool) -> bool:
    """Is this unit (folded words) a copy of (part of) the source? whole: of most of the source."""
    if not unit or not source:
        return False
    if whole:
        return (unit in source and len(unit) >= 0.6 * len(source)) or source in unit \
            or fuzz.ratio(unit, source) >= ECHO_SIMILARITY
    return f" {unit} " in f" {source} " or (len(unit) >= 25 and fuzz.partial_ratio(unit, source) >= ECHO_SIMILARITY)


def _strip_copies(text: str, ref: _Reference) -> str:
    """The answer folded (lower case, plain letters), less the question and (when two or more are there) the
    choices copied into it. Folding always, not only when something is taken out, keeps what is left as it was."""
    folded = _normal(text)
    found = list(_WORD.finditer(folded))
    joined = " ".join(map(re.Match.group, found))
    starts = list(map(re.Match.start, _WORD.finditer(joined)))  # each word's place in joined

    def spans(words_: str) -> list[tuple[int, int]]:
        out, n, at = [], words_.count(" ") + 1, joined.find(words_)
        while words_ and at >= 0:
            end = at + len(words_)
            if (at == 0 or joined[at - 1] == " ") and (end == len(joined) or joined[end] == " "):
                first = bisect.bisect_left(starts, at)
                out.append((found[first].start(), found[first + n - 1].end()))
            at = joined.find(words_, at + 1)
        return out

    copies = [found_ for found_ in map(spans, ref.choice_tokens) if found_]
    cuts = spans(ref.question_tokens) + (sorted(x for c in copies for x in c) if len(copies) >= 2 else [])
    for start, end in sorted(cuts, reverse=True):
        folded = folded[:start] + " . " + folded[end:]
    return folded


def _graded_part(text: str) -> str:
    """The first MAX_GRADED_CHARS characters, cut after the last whole sentence (or line) in them, so that a long
    repetition does not end on a fragment that would count as something new."""
    if len(text) <= MAX_GRADED_CHARS:
        return text
    head = text[:MAX_GRADED_CHARS]
    end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "), head.rfind("\n"), head.rfind("; "))
    return head[:end + 1] if end > 0 else head


def _units(text: str, ref: _Reference) -> list[_Unit]:
    seen: set[str] = set()
    kept: list[tuple[_Unit, int | None]] = []
    for sentence, clauses in _split(_without_repeats(_strip_copies(_graded_part(text), ref))):
        whole = " ".join(_tokens(sentence))
        if _copy_of(whole, ref.question_tokens, whole=False):
            continue  # the question pasted back, with its clauses
        choice = next((i for i, c in enumerate(ref.choice_tokens) if _copy_of(whole, c, whole=True)), None)
        for raw, leaf in [(sentence, not clauses)] + [(c, True) for c in clauses]:
            tokens = _tokens(raw)
            key = " ".join(tokens)
            if not any(_is_content(t) for t in tokens) or key in seen:
                continue
            seen.add(key)
            if leaf and clauses and _copy_of(key, ref.question_tokens, whole=False) and len(tokens) > 2:
                continue  # a clause of the question pasted into a sentence of one's own
            stems = [stem(t.replace("'", "")) if _is_content(t) else "" for t in tokens]
            kept.append((_Unit(raw, tokens, stems, leaf, sentence), choice))
    copied = {c for _, c in kept if c is not None}
    if len(copied) >= 2:  # two or more different choices pasted: hedging, it states none of them
        kept = [(u, c) for u, c in kept if c is None]
    return [u for u, _ in kept]


# ---- signals ------------------------------------------------------------------------------------


@dataclass
class Signals:
    """What the grader measured, before the fitted weights turn it into a score (for fitting and reports)."""

    semantic: list[float]  # per key point: best cosine with a unit
    above_question: list[float]  # per key point: that cosine less the key point's cosine with the question
    unit_words: list[float]  # per key point: share of its content words in the best unit
    all_words: list[float]  # per key point: share of its content words anywhere in the answer
    contradicted: list[str]  # per key point: why it is stated the other way ('' when it is not)
    soft_words: list[float]  # per key point: mean over its content words of the best word-to-word cosine
    choice_margin: float = 0.0  # best similarity to the right choice less the best to a wrong one
    right_similarity: float = 0.0  # best unit's cosine with the right choice
    model_similarity: float = 0.0  # whole answer vs model answer, above the question's own similarity
    misconception: bool = False
    has_right: bool = False
    units: int = 0
    # per key point: how much closer the answer comes to a false statement of it than to a true one (0 without
    # phrasings); and whether the question's key points came with phrasings (which weights apply)
    false_gap: list[float] = field(default_factory=list)
    phrased: bool = False
    # per key point: at the unit that matches it best, how much more that unit matches it than any other key point
    # (0 with one key point). An on-topic answer comes near every key point; a unit that makes one comes nearest it.
    lead: list[float] = field(default_factory=list)


def _words_in_units(point_words: list[tuple[str, str]], units: list[_Unit], long_words: list[str]) -> np.ndarray:
    """point words x units: True where the unit has the word's stem, or a longer word within typo distance of it
    (one rapidfuzz call for all pairs: a phrased question has ~170 point words)."""
    import numpy as np

    columns: dict[str, int] = {}
    for u in units:
        for s in u.stems:
            if s:
                columns.setdefault(s, len(columns))
    has = np.zeros((len(columns) + 1, len(units)), dtype=bool)  # the last row: a stem no unit has
    for i, u in enumerate(units):
        has[[columns[s] for s in u.stems if s], i] = True
    present = has[[columns.get(s, len(columns)) for _, s in point_words]]
    longer = [i for i, (w, _) in enumerate(point_words) if len(w) >= TYPO_MIN_LENGTH]
    if longer and long_words:
        near = process.cdist([point_words[i][0] for i in longer], long_words, scorer=fuzz.ratio,
                             score_cutoff=TYPO_SIMILARITY) > 0
        tokens = [{t for t, s in zip(u.tokens, u.stems, strict=True) if s} for u in units]
        in_unit = np.array([[w in unit for unit in tokens] for w in long_words], dtype=np.float32)
        present[longer] |= (near.astype(np.float32) @ in_unit) > 0
    return present


def signals(text: str, key_points: Sequence[str], right: str = "", wrong: Sequence[str] = (), question: str = "",
            model_answer: str = "", phrasings: Phrasings = ()) -> Signals:
    import numpy as np

    ref = _reference(tuple(key_points), right, tuple(wrong), question, model_answer, phrasings)
    units = _units(text, ref)
    n = len(ref.points)
    phrased = ref.phrased
    if not units or n == 0:
        zeros = [0.0] * n
        return Signals(zeros, zeros, zeros, zeros, [""] * n, zeros, has_right=ref.has_right, false_gap=zeros,
                       phrased=phrased, lead=zeros)
    plain = [" ".join(u.tokens) for u in units]  # words only: punctuation does not move the embedding
    vectors = _embed(plain, whole=True, weighted=phrased)
    unit_vectors, whole = vectors[:-1], vectors[-1]
    similarity = unit_vectors @ ref.point_vectors.T  # units x matched rows (key points, then phrasings)
    leaves = np.array([1.0 if u.leaf else 0.0 for u in units])
    long_words = sorted({t for u in units for t in u.tokens if len(t) >= TYPO_MIN_LENGTH and _is_content(t)})

    answer_words = sorted({t for u in units for t in u.tokens if _is_content(t)})
    word_similarity = _vectors_of_words(answer_words, phrased) @ ref.word_vectors.T  # answer words x point words
    best_word = word_similarity.max(axis=0) if answer_words else np.zeros(len(ref.point_words))
    present = _words_in_units(ref.point_words, units, long_words)  # point words x units
    rows = ref.row_words.astype(np.float32)  # rows x point words
    per_unit = (rows @ present.astype(np.float32)) / ref.row_sizes[:, None]  # share of each row's words, per unit
    soft = (rows @ best_word) / ref.row_sizes
    all_words = (rows @ present.any(axis=1).astype(np.float32)) / ref.row_sizes
    unit_words = per_unit.max(axis=1)
    semantic = similarity.max(axis=0)
    above = semantic - ref.point_baseline
    contradicted = []
    for k, point in enumerate(ref.points):  # read in the unit that matches the key point itself best
        best = int(np.argmax((similarity[:, k] + per_unit[k]) * leaves - (1 - leaves)))
        contradicted.append(_contradicts(units[best], point, ref))

    def fold(values: np.ndarray) -> list[float]:  # a key point is as well made as its best-matched phrasing
        return [float(values[rows_].max()) for rows_ in ref.says]

    per_point = np.stack([similarity[:, rows_].max(axis=1) for rows_ in ref.says], axis=1)  # units x key points
    semantic_k = per_point.max(axis=0).tolist()  # as fold(semantic)
    lead = []
    for k in range(n):
        unit = int(np.argmax(per_point[:, k]))
        others = np.delete(per_point[unit], k)
        lead.append(float(per_point[unit, k] - others.max()) if others.size else 0.0)
    false_gap = [float(semantic[rows_].max()) - semantic_k[k] if rows_ else 0.0 for k, rows_ in enumerate(ref.falses)]
    margin, misconception, right_similarity = 0.0, False, 0.0
    if ref.choices:
        choice_similarity = (unit_vectors @ ref.choice_vectors.T).max(axis=0)
        if ref.has_right:
            best_wrong = float(choice_similarity[1:].max()) if len(ref.choices) > 1 else 0.0
            margin = float(choice_similarity[0]) - best_wrong
            right_similarity = float(choice_similarity[0])
            misconception = margin < 0
    model_similarity = float(whole @ ref.model_vector) - ref.model_baseline if ref.model_vector is not None else 0.0
    return Signals(semantic_k, fold(above), fold(unit_words), fold(all_words), contradicted, fold(soft), margin,
                   right_similarity, model_similarity, misconception, ref.has_right, len(units), false_gap, phrased,
                   lead)


def _wrong_number(unit: _Unit, point: _Point, ref: _Reference) -> bool:
    """A number where the key point gives one, that neither it, the question nor the model answer has (nor comes
    within 5% of), in a sentence that does not give the key point's own numbers: a worked sum that reaches them
    ("400k x 10k = 4 billion") shows its steps, it does not misstate the result."""
    said = _numbers(unit.sentence or unit.text) if point.numbers else set()
    return bool(said) and not point.numbers <= said and any(not _near_any(n, ref.allowed_numbers) for n in said)


def _contradicts(unit: _Unit, point: _Point, ref: _Reference) -> str:
    """Why this unit, which matches the key point best, says the opposite of it ('' when it does not)."""
    positions = [i for i, s in enumerate(unit.stems) if s and s in point.stems]
    if not positions:  # none of its words: only a wrong number where it gives one ("around 18%" for "17% used")
        return "number" if _wrong_number(unit, point, ref) else ""
    stems = set(unit.stems)
    # most matched words just after a negation, where the key point states no negation itself
    if not point.negated:
        negated = sum(1 for i in positions if any(
            (unit.tokens[j] in NEGATIONS or unit.tokens[j].endswith("n't")) and unit.tokens[j + 1] not in NOT_NEGATING
            for j in range(max(0, i - NEGATION_WINDOW), i)))
        if negated * 2 > len(positions):
            return "negation"
    # an antonym of a key point word in place of the word itself, with the rest of the key point there
    if not point.negated and len(set(positions)) * 2 >= len(point.stems) - 1:
        for s in point.stems:
            opposite = _OPPOSITE.get(s, frozenset())
            if s not in stems and opposite & stems and not opposite & point.stems:
                return "antonym"
    if _wrong_number(unit, point, ref):
        return "number"
    # swapped roles: the key point's attribute sits next to another term the question names
    if len(point.entities) == 1 and ref.entities:
        own = next(iter(point.entities))
        where = {e: [i for i, s in enumerate(unit.stems) if s == e] for e in ref.entities}
        if where.get(own) and sum(1 for e in where if where[e]) >= 2:
            votes = 0
            for i, s in enumerate(unit.stems):
                if s and s in point.stems and s not in ref.entities and s not in ref.question_stems:
                    # the term the attribute belongs to: the nearest one before it (its subject), else after it
                    before = [(i - j, e) for e, js in where.items() for j in js if j < i]
                    nearest = min(before or [(j - i, e) for e, js in where.items() for j in js])[1]
                    votes += 1 if nearest == own else -1
            if votes < 0:
                return "swapped roles"
    return ""


# ---- the grade ----------------------------------------------------------------------------------


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


def point_probabilities(sig: Signals, weights: Sequence[float] | None = None) -> list[float]:
    """Per key point: the fitted probability that it is made (0 when contradicted)."""
    if weights is None:
        weights = KEY_POINT_WEIGHTS_PHRASED if sig.phrased else KEY_POINT_WEIGHTS
    gap_weight = weights[6] if len(weights) > 6 else 0.0
    lead_weight = weights[7] if len(weights) > 7 else 0.0
    gaps = sig.false_gap or [0.0] * len(sig.semantic)
    leads = sig.lead or [0.0] * len(sig.semantic)
    return [0.0 if c else _sigmoid(weights[0] + weights[1] * s + weights[2] * a + weights[3] * u + weights[4] * w
                                   + weights[5] * f + gap_weight * g + lead_weight * d)
            for s, a, u, w, f, c, g, d in zip(sig.semantic, sig.above_question, sig.unit_words, sig.all_words,
                                              sig.soft_words, sig.contradicted, gaps, leads, strict=True)]


@dataclass
class Anchors:
    """A question's own yardsticks: the model answer graded as an answer (what good looks like) and the wrong
    choices graded as answers (what wrong looks like; an open-ended question uses FLOOR_TEXT)."""

    good: Signals
    floors: list[Signals]


FLOOR_TEXT = "I don't know."


@lru_cache(maxsize=CACHED_QUESTIONS)
def anchors(key_points: tuple[str, ...], right: str, wrong: tuple[str, ...], question: str,
            model_answer: str, phrasings: Phrasings = ()) -> Anchors:
    def graded(text: str) -> Signals:
        return signals(text, key_points, right, wrong, question, model_answer, phrasings)

    good = graded(model_answer or "; ".join(key_points))
    floors = [graded(c) for c in wrong] + [graded(FLOOR_TEXT)]
    return Anchors(good, floors)


def _measures(sig: Signals, weights: Sequence[float] | None) -> tuple[float, float, float, float]:
    p = point_probabilities(sig, weights)
    return (sum(p) / max(1, len(p)), max(p, default=0.0), sig.right_similarity, sig.model_similarity)


def on_topic_full(sig: Signals) -> float:
    """The share of the way from "I don't know" to the model answer at which the on-topic level reaches 1."""
    return ON_TOPIC_FULL_PHRASED if sig.phrased else ON_TOPIC_FULL


def off_topic_below(sig: Signals) -> float:
    """The on-topic level (score_features()[1]) under which an answer scores 0: ON_TOPIC_FROM of the way."""
    return ON_TOPIC_FROM / on_topic_full(sig)


def score_features(sig: Signals, anchor: Anchors, weights: Sequence[float] | None = None) -> list[float]:
    """[1, on topic, mean key point probability, best key point probability, right-choice similarity, model-answer
    similarity] the last four scaled so that the question's floor is 0 and its model answer is 1; then the
    right-choice margin over the wrong ones and minus the share of contradicted key points."""
    mine, good = _measures(sig, weights), _measures(anchor.good, weights)
    floors = [_measures(f, weights) for f in anchor.floors]
    scaled = []
    for i in range(4):
        floor = max(f[i] for f in floors)
        scaled.append((mine[i] - floor) / max(0.05, good[i] - floor))
    # on topic: 0 at the "I don't know" floor, 1 from on_topic_full() of the way to the model answer (for a constant)
    blank = _measures(anchor.floors[-1], weights)
    progress = max((mine[i] - blank[i]) / max(0.05, good[i] - blank[i]) for i in (1, 3))
    on_topic = max(0.0, min(1.0, progress / on_topic_full(sig)))
    contradicted = sum(1 for c in sig.contradicted if c) / max(1, len(sig.contradicted))
    return [1.0, on_topic, *scaled, sig.choice_margin, -contradicted]


def score_of(sig: Signals, anchor: Anchors, point_weights: Sequence[float] | None = None,
             score_weights: Sequence[float] | None = None) -> float:
    """The score, 0..1. An answer that is not on topic (less than ON_TOPIC_FROM of the way from "I don't know" to
    the model answer, see score_features) scores 0."""
    if not sig.units:
        return 0.0
    features = score_features(sig, anchor, point_weights)
    if features[1] < off_topic_below(sig):  # barely more key point or model-answer likeness than "I don't know"
        return 0.0
    if score_weights is None:
        if sig.phrased:
            score_weights = SCORE_WEIGHTS_CHOICE_PHRASED if sig.has_right else SCORE_WEIGHTS_OPEN_PHRASED
        else:
            score_weights = SCORE_WEIGHTS_CHOICE if sig.has_right else SCORE_WEIGHTS_OPEN
    raw = sum(w * x for w, x in zip(score_weights, features, strict=False))
    return round(min(1.0, max(0.0, raw)), 3)


def shown_score(score: float) -> float:
    """The score cut, not rounded, to two decimals for display: a score of 0.519 (partial, under GOOD_AT 0.52) must
    not read 0.52 or 52% beside "partial"."""
    return math.floor(round(score * 100, 6)) / 100  # (0.29 * 100 is 28.999...)


def verdict_for(score: float) -> str:
    """The fixed bands: the verdict is a function of the score alone."""
    if score >= GOOD_AT:
        return "good"
    return "partial" if score >= PARTIAL_AT else "wrong"


@dataclass(frozen=True)
class Grade:
    score: float  # 0..1: what the answer shows it knows; sets the verdict, points and review ratings
    found: tuple[bool, ...]  # per key point, in the question's order: made, and not contradicted
    core: float = 0.0  # how much closer the answer is to the right choice than to a wrong one (0..1)
    misconception: bool = False  # closer to a wrong choice than to the right one
    verdict: str = "wrong"  # good, partial or wrong: verdict_for(score)
    contradicted: tuple[bool, ...] = field(default=())  # per key point: matched by words but stated the other way
    grader: str = "built-in"

    @property
    def passed(self) -> bool:
        return self.verdict == "good"


def grade(text: str, key_points: tuple[str, ...] | list[str], right: str = "", wrong: tuple[str, ...] = (), *,
          question: str = "", model_answer: str = "", phrasings: Phrasings = ()) -> Grade:
    """Grade `text`. `right` is the right choice's text and `wrong` the others (none for an open-ended question);
    `question` (its text, dropped when pasted back), `model_answer` and `phrasings` (per key point) sharpen the
    grade when given."""
    sig = signals(text, key_points, right, wrong, question, model_answer, phrasings)
    anchor = anchors(tuple(key_points), right, tuple(wrong), question, model_answer, phrasings)
    probabilities = point_probabilities(sig)
    score = score_of(sig, anchor)
    found_at = KEY_POINT_FOUND_PHRASED if sig.phrased else KEY_POINT_FOUND
    found = tuple(p >= found_at for p in probabilities)
    core = round(min(1.0, max(0.0, 0.5 + sig.choice_margin * 2.5)), 3) if sig.has_right else 0.0
    return Grade(score, found, core, sig.misconception, verdict_for(score), tuple(bool(c) for c in sig.contradicted))


def warm_up() -> None:
    """Load the embedding model now (about 0.3 s, mostly in numpy), so that the first reveal does not pay for it:
    the runtime calls it in a worker thread at start."""
    _wordllama()


def prepare(question: Question) -> None:
    """Computes and caches what grading a question's answers needs (its reference and anchors, about 10-20 ms),
    so that the first answer does not wait for it: call it when the question is posted."""
    anchors(tuple(question.key_points), question.correct_text, tuple(question.wrong_choices), question.question,
            question.answer, phrasings_for(question))


def grade_question(text: str, question: Question) -> Grade:
    """Grade against a bank question: its key points, model answer, and right and wrong choices (if any)."""
    return grade(text, question.key_points, question.correct_text, question.wrong_choices,
                 question=question.question, model_answer=question.answer, phrasings=phrasings_for(question))


def points_for(result: Grade | float) -> int:
    """Leaderboard points for a written answer in a channel round (0..10); a wrong verdict earns none."""
    if isinstance(result, Grade):
        if result.verdict == "wrong":
            return 0
        score = result.score
    else:
        score = result if result >= PARTIAL_AT else 0.0
    return round(10 * max(0.0, min(1.0, score)))
