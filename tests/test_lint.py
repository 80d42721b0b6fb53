"""`studybot check --strict`: each quality rule catches what it is for, with the question's line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.lint import NEAR_DUPLICATE, lint
from bot.models import Bank, Question

ANSWER = " ".join(["Byte-pair encoding merges the most frequent adjacent pair of symbols again and again."] * 5)
BASE = Question(
    id="q1", level="basic", topic="Tokenization", covers=("dc-06",),
    question="Which rule does byte-pair encoding follow when it builds its vocabulary?",
    choices=("Merge the most frequent adjacent pair", "Split words at every vowel boundary",
             "Keep only dictionary words as units", "Assign one token to every character"),
    correct=1, answer=ANSWER, key_points=("most frequent pair", "merged repeatedly", "subword vocabulary"), line=3,
)


def problems(*questions: Question, seeds: set[str] | None = None) -> list[str]:
    bank = Bank(("basic", "advanced"), tuple(questions))
    return [f"{p.line}: {p.message}" for p in lint(bank, Path("bank.yaml"), seeds)]


def test_a_good_question_passes():
    assert problems(BASE) == []


def test_each_rule(tmp_path):
    cases = {
        "3 choices": replace(BASE, choices=BASE.choices[:3]),
        "catch-all": replace(BASE, choices=(*BASE.choices[:3], "All of the above")),
        "answer has 8 words": replace(BASE, answer="BPE merges frequent pairs, again and again, always."),
        "over 8 words": replace(BASE, key_points=("the most frequent adjacent pair of symbols is merged next", "b c", "d e")),
        "only long one": replace(BASE, choices=("Merge the most frequent adjacent pair of symbols, again and again "
                                                "until the vocabulary is full", "Vowels", "Words", "Letters")),
        "only repeats words of the question": replace(BASE, choices=(*BASE.choices[:3], "Byte-pair encoding vocabulary")),
        "covers is empty": replace(BASE, covers=()),
    }
    for words, question in cases.items():
        found = problems(question)
        assert any(words in p and p.startswith("3: ") for p in found), (words, found)
    assert any("unknown seed ids: dc-06" in p for p in problems(BASE, seeds={"dc-01"}))


def test_near_duplicates_are_reported_once_at_the_later_question():
    twin = replace(BASE, id="q2", line=20, question="Which rule does byte pair encoding follow when building its vocabulary?")
    found = problems(BASE, twin)
    assert len(found) == 1 and found[0].startswith("20: ") and f">= {NEAR_DUPLICATE}" in found[0]
    other = replace(BASE, id="q3", line=40, question="Why do subword tokenizers never need an unknown-word token?")
    assert problems(BASE, other) == []


def test_answer_positions_and_length_tell_per_level():
    topics = ["attention heads", "context windows", "temperature", "quantization", "retrieval", "drift",
              "reward models", "few-shot prompts", "embeddings", "perplexity"]
    questions = [replace(BASE, id=f"q{i}", line=i, question=f"What is the main idea behind {topic}?")
                 for i, topic in enumerate(topics)]
    found = problems(*questions)
    assert any("10 of 10 right answers are choice 1" in p for p in found)
    assert any("the right choice is the longest in 10 of 10" in p for p in found)
    rotated = []
    for i, q in enumerate(questions):
        position = i % 4
        choices = list(q.choices[1:])
        choices.insert(position, "Merge the adjacent pair")  # right choice, not the longest
        rotated.append(replace(q, choices=tuple(choices), correct=position + 1))
    assert problems(*rotated) == []
