"""The written-answer grader: word matching, and agreement with answers labelled by us."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from bot.grading import grade, grade_question, stem, words
from bot.questions import load_bank
from tests.conftest import DATA, REPO

LABELLED = yaml.safe_load((DATA / "graded_answers.yaml").read_text())["answers"]  # the grader was fitted on these
HELD_OUT = yaml.safe_load((DATA / "graded_answers_heldout.yaml").read_text())["answers"]  # labelled apart, never fitted
BANK = load_bank(REPO / "questions.yaml")
TARGET = 0.85
HELD_OUT_FLOOR = 0.65  # what the fitted grader reaches on answers it never saw, less a margin: a regression alarm


def test_labelled_set_is_big_and_varied_enough():
    assert len(LABELLED) >= 60
    per_question = Counter(a["question"] for a in LABELLED)
    assert len(per_question) >= 15
    assert {a["label"] for a in LABELLED} == {"good", "partial", "wrong"}
    assert all(BANK.get(q) is not None for q in per_question)


def agreement(answers: list[dict]) -> tuple[float, float, Counter]:
    verdicts = [(a["label"], grade_question(a["text"], BANK.get(a["question"])).verdict) for a in answers]
    same = sum(label == verdict for label, verdict in verdicts) / len(verdicts)
    passed = sum((label == "good") == (verdict == "good") for label, verdict in verdicts) / len(verdicts)
    return same, passed, Counter(verdicts)


def test_grader_agrees_with_the_labels(capsys):
    same, passed, confusion = agreement(LABELLED)
    with capsys.disabled():
        print(f"\ngrader agreement with {len(LABELLED)} labelled answers (fitting set): {same:.1%} "
              f"(pass/fail decision: {passed:.1%}); confusion: {dict(confusion)}")
    assert same >= TARGET


def test_grader_on_held_out_answers(capsys):
    """Answers to 16 other questions, labelled by another hand: how far the fitted grader generalises."""
    assert len(HELD_OUT) >= 60 and not {a["question"] for a in HELD_OUT} & {a["question"] for a in LABELLED}
    same, passed, confusion = agreement(HELD_OUT)
    with capsys.disabled():
        print(f"\ngrader agreement with {len(HELD_OUT)} held-out answers: {same:.1%} "
              f"(pass/fail decision: {passed:.1%}); confusion: {dict(confusion)}")
    assert same >= HELD_OUT_FLOOR


@pytest.mark.parametrize(("a", "b"), [("quantization", "quantisation"), ("embeddings", "embedding"),
                                      ("recomputing", "recompute"), ("tokenizer", "tokenization"),
                                      ("VRAM", "memory"), ("fetches", "retrieve"), ("matrices", "matrix")])
def test_variants_fold_to_one_stem(a, b):
    assert stem(words(a)[0]) == stem(words(b)[0])


def test_key_points_found_through_paraphrase_and_typos():
    points = ("low-rank matrices A and B", "base weights stay frozen", "fewer trainable parameters")
    result = grade("LoRA keeps the base weigths frozen and learns two low rank matrixes; far fewer trainable params",
                   points)
    assert result.found == (True, True, True)
    assert grade("I have no idea, sorry", points).found == (False, False, False)


def test_misconception_costs_points():
    question = BANK.get("int-lora-mechanism")
    right = grade_question("It adds a trainable low-rank product alongside the frozen weight matrix", question)
    wrong_choice = next(c for i, c in enumerate(question.choices, 1) if i != question.correct)
    wrong = grade_question(wrong_choice, question)
    assert right.core > wrong.core
    assert wrong.misconception and not right.misconception
    assert right.score > wrong.score


def test_scores_stay_in_range_for_odd_input():
    question = BANK.get("int-lora-mechanism")
    for text in ("", "   ", "🦄" * 1000, "a " * 30_000, "<@123> @everyone **x**", "\x00\x1b"):
        result = grade_question(text, question)
        assert 0.0 <= result.score <= 1.0 and len(result.found) == len(question.key_points)


def test_model_answers_score_well():
    """Each model answer, written out in full, is a good answer to its own question."""
    weak = [q.id for q in BANK.questions if grade_question(q.correct_text + ". " + q.answer, q).verdict != "good"]
    assert weak == []
