"""The built-in written-answer grader: agreement with the labelled fitting answers, and its consistency guarantees.

The fitting answers (tests/data/graded_answers.yaml and graded_answers_heldout.yaml) are the ones the weights
were fitted on; benchmarks/grading_fit.py reports the same figures with leave-one-question-out cross-validation.
The held-out sets of issue 11 (tests/data/grading_heldout.yaml and grading_heldout_2.yaml, written apart, never
used to fit anything) have their own test, which prints every set's figures and holds the held-out ones to the
issue's goals.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
import yaml

from bot import grading
from bot.grading import GOOD_AT, PARTIAL_AT, Grade, grade, grade_question, points_for, stem, verdict_for, words
from bot.questions import load_bank
from tests.conftest import DATA, REPO


def answers(name: str) -> list[dict]:
    """A labelled answer file's answers (libyaml's parser: these files are large, and every worker reads them)."""
    return yaml.load((DATA / name).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)["answers"]


FITTING = [a for name in ("graded_answers.yaml", "graded_answers_heldout.yaml") for a in answers(name)]
BANK = load_bank(REPO / "questions.yaml")
RANK = {"wrong": 0, "partial": 1, "good": 2}
# Regression alarms on the fitting set, a little under what the fitted grader reaches there (docs/grading.md);
# the goals of issue 11 are measured on the held-out set, by its own test.
FLOORS = {"exact": 0.70, "pass_fail": 0.85, "pairs": 0.88, "precision": 0.90}
HELD_OUT = [a for a in answers("grading_heldout.yaml") if BANK.get(a["question"]) is not None]
# The second held-out set: 250 answers to 50 questions no other labelled set uses, written after every choice of
# the grader it was first measured on; nothing (answers, or the phrasings behind the token weights) fitted on it.
HELD_OUT_2 = answers("grading_heldout_2.yaml")
# 450 answers to 90 other questions, written after the key-point-only constants were fitted: with the 170, the
# fitting data of the weights with phrasings (benchmarks/grading_fit.py --phrasings).
NEWER = [a for n in (1, 2, 3) for a in answers(f"grading_fit_{n}.yaml")]
STYLES = {"false-statement", "terse", "other", "non-native", "chatty", "typos", "bullets", "pasted", "padding",
          "example"}
# The goals of issue 11, on answers never used to fit anything.
GOALS = {"exact": 0.80, "pass_fail": 0.90, "pairs": 0.90, "precision": 0.90}


@pytest.fixture(scope="module")
def graded() -> list[tuple[dict, Grade]]:
    return [(a, grade_question(a["text"], BANK.get(a["question"]))) for a in FITTING]


def test_fitting_set_is_big_varied_and_labelled():
    assert len(FITTING) >= 170
    per_question = Counter(a["question"] for a in FITTING)
    assert len(per_question) >= 30 and all(BANK.get(q) is not None for q in per_question)
    assert {a["label"] for a in FITTING} == {"good", "partial", "wrong"}
    for a in FITTING:
        points = len(BANK.get(a["question"]).key_points)
        assert all(1 <= k <= points for k in a["made"]) and len(set(a["made"])) == len(a["made"])
        assert a["label"] != "wrong" or len(a["made"]) <= 1  # a wrong answer makes at most a side point


def test_the_newer_answers_are_labelled_and_apart_from_the_held_out_questions():
    assert len(NEWER) >= 450
    questions = {a["question"] for a in NEWER}
    assert len(questions) >= 90 and not questions & {a["question"] for a in HELD_OUT + FITTING}
    for a in NEWER:
        points = len(BANK.get(a["question"]).key_points)
        assert a["label"] in RANK and a["style"] in STYLES and a["text"].strip()
        assert all(1 <= k <= points for k in a["made"]) and len(set(a["made"])) == len(a["made"])
    assert {a["style"] for a in NEWER} == STYLES


def agreement(second: list[dict], files: dict[str, list[dict]]) -> float:
    """The share of a second labelling's rows whose label is the writers'; every row names its answer (file and
    1-based position) and question rightly, with a valid label and key points."""
    same = 0
    for row in second:
        first = files[row["file"]][row["answer"] - 1]
        assert first["question"] == row["question"] and row["label"] in RANK
        assert all(1 <= k <= len(BANK.get(row["question"]).key_points) for k in row["made"])
        same += first["label"] == row["label"]
    return same / len(second)


def test_a_second_blind_labelling_covers_every_fitting_answer_and_mostly_agrees():
    """The labels are not the ceiling: a second labeller, blind to the first, gives the same verdict on >= 90%
    (docs/grading.md; benchmarks/label_agreement.py prints the full comparison)."""
    files = {name: answers(name) for name in ("graded_answers.yaml", "graded_answers_heldout.yaml",
                                              "grading_fit_1.yaml", "grading_fit_2.yaml", "grading_fit_3.yaml")}
    second = answers("grading_second_labels.yaml")
    assert sorted((r["file"], r["answer"]) for r in second) == sorted(
        (name, i) for name, rows in files.items() for i in range(1, len(rows) + 1))
    assert agreement(second, files) >= 0.90


def test_the_second_held_out_set_is_labelled_varied_and_apart_from_every_other_set():
    assert len(HELD_OUT_2) >= 250
    questions = {a["question"] for a in HELD_OUT_2}
    assert len(questions) >= 50 and not questions & {a["question"] for a in HELD_OUT + FITTING + NEWER}
    for a in HELD_OUT_2:
        points = len(BANK.get(a["question"]).key_points)
        assert a["label"] in RANK and a["style"] in STYLES and a["text"].strip()
        assert all(1 <= k <= points for k in a["made"]) and len(set(a["made"])) == len(a["made"])
    assert {a["style"] for a in HELD_OUT_2} == STYLES
    assert min(Counter(a["label"] for a in HELD_OUT_2).values()) >= 60


def test_the_second_held_out_set_has_a_blind_second_labelling_that_mostly_agrees():
    second = answers("grading_heldout_2_second_labels.yaml")
    assert [(r["file"], r["answer"]) for r in second] == [("grading_heldout_2.yaml", i)
                                                         for i in range(1, len(HELD_OUT_2) + 1)]
    assert agreement(second, {"grading_heldout_2.yaml": HELD_OUT_2}) >= 0.90


def test_the_token_weights_are_fitted_on_no_labelled_sets_questions():
    """benchmarks/fit_token_weights.py trains on the phrasings of questions that none of LABELLED uses, and checks
    on the fitting sets' questions only: every labelled answer file must be in LABELLED, and both held-out sets
    kept out of the check."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fit_token_weights", REPO / "benchmarks" / "fit_token_weights.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    labelled = set()
    for path in DATA.glob("*.yaml"):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        rows = data.get("answers") if isinstance(data, dict) else None
        if rows and "text" in rows[0] and "label" in rows[0]:  # answers with their labels (not a relabelling)
            labelled.add(path.name)
    assert len(labelled) >= 7 and labelled <= set(module.LABELLED), labelled - set(module.LABELLED)
    assert {"grading_heldout.yaml", "grading_heldout_2.yaml"} <= set(module.HELD_OUT)


def figures(pairs: list[tuple[dict, Grade]]) -> dict:
    exact = sum(a["label"] == g.verdict for a, g in pairs) / len(pairs)
    pass_fail = sum((a["label"] == "good") == g.passed for a, g in pairs) / len(pairs)
    ordered = total = 0
    for (a, ga), (b, gb) in combinations(pairs, 2):
        if a["question"] == b["question"] and a["label"] != b["label"]:
            total += 1
            ordered += (ga.score - gb.score) * (RANK[a["label"]] - RANK[b["label"]]) > 0
    labelled = [(a, g) for a, g in pairs if a.get("made") is not None]
    marked = [k in a["made"] for a, g in labelled for k, found in enumerate(g.found, 1) if found]
    made = sum(len(a["made"]) for a, _ in labelled)
    return {"exact": exact, "pass_fail": pass_fail, "pairs": ordered / max(1, total),
            "precision": sum(marked) / max(1, len(marked)), "recall": sum(marked) / max(1, made),
            "confusion": dict(Counter(f"{a['label']}->{g.verdict}" for a, g in pairs))}


def test_grader_agrees_with_the_fitting_labels(graded, capsys):
    result = figures(graded)
    with capsys.disabled():
        print(f"\ngrader on its {len(graded)} fitting answers: exact {result['exact']:.1%}, pass/fail "
              f"{result['pass_fail']:.1%}, same-question pairs ordered {result['pairs']:.1%}, key points found: "
              f"precision {result['precision']:.1%} recall {result['recall']:.1%}; {result['confusion']}")
    for name, floor in FLOORS.items():
        assert result[name] >= floor, (name, result[name])


def summary(name: str, pairs: list[tuple[dict, Grade]], result: dict) -> str:
    return (f"{name} ({len(pairs)} answers): exact {result['exact']:.1%}, pass/fail {result['pass_fail']:.1%}, "
            f"same-question pairs ordered {result['pairs']:.1%}, key points found: precision "
            f"{result['precision']:.1%} recall {result['recall']:.1%}; {result['confusion']}")


@pytest.mark.xfail(strict=True, reason="held-out figures below the goals (80% exact, 90% pass/fail, 90% pairs, 90% "
                   "key point precision): set 1 64.0% / 83.7% / 88.6% / 95.9%, set 2 71.2% / 87.2% / 88.8% / 87.2% "
                   "(docs/grading.md)")
def test_held_out_figures_reach_the_goals(graded, capsys):
    """The issue's goals, on both held-out sets (never used to fit anything); the fitting sets' figures beside them."""
    assert len(HELD_OUT) >= 200 and len(HELD_OUT_2) >= 200
    newer = [(a, grade_question(a["text"], BANK.get(a["question"]))) for a in NEWER]
    with capsys.disabled():
        print("\n" + summary("fitting set (fitted on it)", graded, figures(graded)))
        print(summary("newer answers (fitting data of the phrased weights)", newer, figures(newer)))
    short = {}
    for name, rows in (("held-out set 1", HELD_OUT), ("held-out set 2", HELD_OUT_2)):
        held_out = [(a, grade_question(a["text"], BANK.get(a["question"]))) for a in rows]
        result = figures(held_out)
        with capsys.disabled():
            print(summary(f"{name} (never fitted on)", held_out, result))
        short.update({f"{name}: {goal_name}": round(result[goal_name], 3)
                      for goal_name, goal in GOALS.items() if result[goal_name] < goal})
    assert short == {}, f"held-out figures below the goals {GOALS}: {short}"


@pytest.mark.parametrize(("rows", "floors"), [
    pytest.param(HELD_OUT, {"exact": 0.63, "pass_fail": 0.82, "pairs": 0.87, "precision": 0.93}, id="set-1"),
    pytest.param(HELD_OUT_2, {"exact": 0.69, "pass_fail": 0.85, "pairs": 0.87, "precision": 0.85}, id="set-2"),
])
def test_held_out_figures_do_not_fall_back(rows, floors):
    """A regression alarm, a little under what the grader measured on each held-out set (set 1 64.0% / 83.7% /
    88.6% / 95.9%, set 2 71.2% / 87.2% / 88.8% / 87.2%): nothing is fitted to them, a change that loses ground
    there fails."""
    result = figures([(a, grade_question(a["text"], BANK.get(a["question"]))) for a in rows])
    assert {name: round(result[name], 3) for name, floor in floors.items() if result[name] < floor} == {}


# ---- consistency ----------------------------------------------------------------------------------


def test_the_verdict_follows_the_score_bands(graded):
    assert 0 < PARTIAL_AT < GOOD_AT < 1
    assert [verdict_for(s) for s in (0.0, PARTIAL_AT - 0.001, PARTIAL_AT, GOOD_AT - 0.001, GOOD_AT, 1.0)] == \
        ["wrong", "wrong", "partial", "partial", "good", "good"]
    for _, g in graded:
        assert g.verdict == verdict_for(g.score) and g.passed == (g.verdict == "good")
    ordered = sorted(graded, key=lambda pair: pair[1].score)
    verdicts = [RANK[g.verdict] for _, g in ordered]
    assert verdicts == sorted(verdicts)  # a higher score never gets a lower verdict


def test_a_wrong_verdict_earns_no_points(graded):
    try:
        from bot.rounds import judge  # where the engine's judge lives once the rounds are split out
    except ImportError:
        from bot.engine import judge
    from bot.models import Answer

    for _answer, g in graded:
        assert (points_for(g) == 0) == (g.verdict == "wrong") or g.score == 0
        assert points_for(g) == (0 if g.verdict == "wrong" else round(10 * g.score))
    question = BANK.get(FITTING[0]["question"])
    wrong = next(a["text"] for a, g in graded if g.verdict == "wrong" and g.score > 0)
    answer = Answer(id=1, round_id=1, user_id="u", name="u", choice=None, text=wrong, correct=None, score=None,
                    points=0, found=None)
    result = judge(answer, BANK.get(next(a["question"] for a in FITTING if a["text"] == wrong)))
    assert result.points == 0 and result.grade.verdict == "wrong" and result.grade.score > 0
    assert question is not None


def paddings(text: str, question) -> dict[str, str]:
    sentence = text.strip()
    choices = question.choices
    return {
        "200 times": " ".join([sentence] * 200),
        "10,000 characters": (sentence + " ") * (10_000 // (len(sentence) + 1) + 1),
        "repeated without a stop": " ".join([sentence.rstrip(".!?")] * 50),
        "question after": f"{sentence}\n{question.question}",
        "question before": f"{question.question} {sentence}",
        "question twice": f"{question.question}\n{sentence}\n{question.question}",
        "choices after, lines": sentence + "\n" + "\n".join(choices),
        "choices after, numbered": sentence + "\n" + "\n".join(f"{i}. {c}" for i, c in enumerate(choices, 1)),
        "choices after, one line": sentence + " " + " ".join(choices),
        "choices before": "; ".join(choices) + ". " + sentence,
        "question and choices": f"{question.question}\n" + "\n".join(choices) + f"\n{sentence}",
    }


def test_a_good_answer_to_another_question_is_graded_wrong():
    """A good answer, graded against a question of another topic, makes none of its key points: wrong. 200 such
    pairs from the fitting answers; measured 191 wrong, 8 partial, 1 good, 2 with a key point found (before the
    token weights and ON_TOPIC_FULL_PHRASED: 150, 49, 1, 2; docs/grading.md)."""
    import random

    rng = random.Random(0)
    good = [a for a in FITTING + NEWER if a["label"] == "good"]
    questions = sorted({a["question"] for a in FITTING + NEWER})
    verdicts: Counter[str] = Counter()
    for a in rng.sample(good, 200):
        topic = BANK.get(a["question"]).topic
        other = BANK.get(rng.choice([q for q in questions if BANK.get(q).topic != topic]))
        result = grade_question(a["text"], other)
        verdicts[result.verdict] += 1
        verdicts["with a key point found"] += any(result.found)
    assert verdicts["wrong"] >= 180, verdicts
    assert verdicts["good"] <= 5, verdicts
    assert verdicts["with a key point found"] <= 10, verdicts


def test_padding_repetition_and_pasting_never_raise_the_verdict(graded):
    raised = []
    for a, g in graded:
        question = BANK.get(a["question"])
        for how, text in paddings(a["text"], question).items():
            padded = grade_question(text, question)
            if RANK[padded.verdict] > RANK[g.verdict]:
                raised.append((a["question"], a["text"][:40], how, g.verdict, padded.verdict))
    assert raised == []


def test_pasting_back_the_question_or_the_choices_alone_is_wrong():
    for question in BANK.questions[:60]:
        for text in (question.question, "\n".join(question.choices), " ".join(question.choices),
                     question.question + "\n" + "\n".join(question.choices), (question.question + " ") * 100):
            result = grade_question(text, question)
            assert result.verdict == "wrong" and not any(result.found), (question.id, text[:40])


def test_ten_thousand_characters_of_one_sentence_are_no_better_than_the_sentence():
    question = BANK.get("int-lora-mechanism")
    sentence = "LoRA is a technique used when fine-tuning large language models on new data."
    once = grade_question(sentence, question)
    padded = grade_question((sentence + " ") * 140, question)
    assert len((sentence + " ") * 140) > 10_000
    assert padded == once and padded.verdict != "good" and not any(padded.found)


@pytest.mark.parametrize(("question_id", "point", "plain", "opposite", "cue"), [
    ("pe-bleu-vs-rouge", 0, "BLEU is precision-oriented, built for translation.",
     "ROUGE is precision-oriented and BLEU is recall-oriented.", "swapped roles"),
    ("pe-bleu-vs-rouge", 1, "ROUGE is recall-oriented, built for summarisation.",
     "BLEU is recall-oriented for summarisation and ROUGE precision-oriented.", "swapped roles"),
    ("basic-decoder-only-llms", 1, "It uses causal self-attention, each token sees only earlier ones.",
     "It uses bidirectional self-attention.", "antonym"),
    ("int-lora-mechanism", 0, "W stays frozen during fine-tuning.", "W does not stay frozen during fine-tuning.",
     "negation"),
    ("int-lora-mechanism", 2, "The rank r is small, such as 8.", "The rank r is small, such as 4096.", "number"),
])
def test_the_key_points_words_saying_the_opposite_do_not_cover_it(question_id, point, plain, opposite, cue):
    question = BANK.get(question_id)
    assert grade_question(plain, question).found[point], plain
    result = grade_question(opposite, question)
    assert not result.found[point] and result.contradicted[point]
    sig = grading.signals(opposite, question.key_points, question.correct_text, question.wrong_choices,
                          question.question, question.answer)
    assert sig.contradicted[point] == cue


@pytest.mark.parametrize(("question_id", "text", "contradicted"), [
    # a worked sum reaching the key points' numbers shows its steps (8, 2000, 7, 100 are not wrong numbers)
    ("int-static-vs-continuous-batching", "The batch holds 8 slots for 2000 steps, that is 16000 slot-steps, but "
     "useful tokens are only 7x100 + 2000 = 2700, so around 17%.", []),
    # the same sum reaching wrong results misstates both
    ("int-static-vs-continuous-batching", "The batch holds 8 slots for 2000 steps, that is 16000 slot-steps, but "
     "useful tokens are only 7x100 + 2000 = 2900, so around 18%.", [0, 1]),
    # "roughly 5.7" for "about 6" is the same number said more precisely; 20 is not
    ("pe-prompt-ab-test-noise", "At about 80% on 50 cases the standard error is roughly 5.7 points.", []),
    # (the best match for "2 of 50 cases is within sampling noise" gives neither 2 nor a number near one allowed)
    ("pe-prompt-ab-test-noise", "At about 80% on 50 cases the standard error is roughly 20 points.", [0, 1]),
])
def test_a_number_contradicts_only_where_the_key_points_own_is_not_given(question_id, text, contradicted):
    question = BANK.get(question_id)
    sig = grading.signals(text, question.key_points, question.correct_text, question.wrong_choices,
                          question.question, question.answer, grading.phrasings_for(question))
    assert [k for k, why in enumerate(sig.contradicted) if why == "number"] == contradicted
    assert grading._numbers("10k samples, 2,700 useful, 1.5k more, 1234.5k") == {"10000", "2700", "1500", "1234500"}


def test_found_key_points_are_really_made_and_feedback_lists_only_those(graded):
    from bot import texts

    for a, g in graded[:40]:
        question = BANK.get(a["question"])
        feedback = texts.grade_feedback(question, g)
        covered = next((line for line in feedback.splitlines() if line.startswith("Covered: ")), "Covered: ")
        listed = [p for p in question.key_points if p in covered.removeprefix("Covered: ").split("; ")]
        assert listed == [p for p, f in zip(question.key_points, g.found, strict=False) if f]
        missed = [p for p, f in zip(question.key_points, g.found, strict=False) if not f]
        assert ("The main idea missing:" in feedback) == (bool(missed) and not g.passed)
        assert not missed or g.passed or f"The main idea missing: {missed[0]}." in feedback
        # beside a good verdict, a key point not found is "not recognised", never "missed"
        assert not (missed and g.passed) or (f"Check that your answer says: {missed[0]}." in feedback
                                             and "Missed" not in feedback)
    assert any(g.passed and not all(g.found) for _, g in graded[:40])  # both wordings were read
    assert any(not g.passed and not all(g.found) for _, g in graded[:40])


def test_a_shown_score_never_reads_as_the_next_band():
    """0.519 is partial (GOOD_AT 0.52): shown rounded it would read 0.52 or 52% beside "partial"."""
    from bot import texts

    below = round(GOOD_AT - 0.001, 3)
    assert [grading.shown_score(s) for s in (below, GOOD_AT, 0.29, 0.0, 1.0)] == \
        [round(GOOD_AT - 0.01, 2), GOOD_AT, 0.29, 0.0, 1.0]
    question = BANK.get(FITTING[0]["question"])
    g = Grade(score=below, found=(False,) * len(question.key_points), verdict=verdict_for(below))
    assert g.verdict == "partial"
    assert f"(score {round(100 * GOOD_AT) - 1}%, partial)" in texts.grade_feedback(question, g)


# ---- phrasings: how members say each key point, and how they state it falsely ----------------------


def test_every_key_point_of_the_bank_has_its_phrasings():
    """bot/phrasings.yaml is keyed by question id and key point text: a key point added or reworded in
    questions.yaml without its phrasings would quietly fall back to key-point-only grading, so it fails here."""
    table = yaml.load(grading.PHRASINGS_FILE.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    missing = [(q.id, p) for q in BANK.questions for p in q.key_points
               if len((table.get(q.id) or {}).get(p, {}).get("say") or ()) < 3
               or not (table.get(q.id) or {}).get(p, {}).get("untrue")]
    assert missing == []
    stale = [(qid, p) for qid, points in table.items() for p in points
             if BANK.get(qid) is None or p not in BANK.get(qid).key_points]
    assert stale == []
    for question in BANK.questions[:20]:
        phrasings = grading.phrasings_for(question)
        assert len(phrasings) == len(question.key_points)
        assert all(p.say and p.untrue and all(s.strip() for s in p.say + p.untrue) for p in phrasings)


def test_phrasings_tell_key_points_made_from_those_not_made_better():
    """On the fitting answers, the key point probability with phrasings separates the key points the labels say
    are made from the others better (ROC AUC) than without, though the key-point-only weights were fitted on
    these very answers; and the key points it marks found are really made."""
    def probabilities(phrased: bool) -> tuple[list[float], list[float]]:
        made, not_made = [], []
        for a in FITTING:
            q = BANK.get(a["question"])
            sig = grading.signals(a["text"], q.key_points, q.correct_text, q.wrong_choices, q.question, q.answer,
                                  grading.phrasings_for(q) if phrased else ())
            for k, p in enumerate(grading.point_probabilities(sig), 1):
                (made if k in a["made"] else not_made).append(p)
        return made, not_made

    def auc(made: list[float], not_made: list[float]) -> float:
        return sum((m > n) + 0.5 * (m == n) for m in made for n in not_made) / (len(made) * len(not_made))

    plain, phrased = probabilities(False), probabilities(True)
    assert auc(*phrased) > auc(*plain) + 0.02
    found_made = sum(p >= grading.KEY_POINT_FOUND_PHRASED for p in phrased[0])
    found_not = sum(p >= grading.KEY_POINT_FOUND_PHRASED for p in phrased[1])
    assert found_made / (found_made + found_not) >= 0.93


def test_a_false_phrasing_lowers_the_key_point_it_misstates():
    """The gap to the key point's untrue phrasings counts against it: stating one of them is weaker evidence
    than stating the key point in the same words plainly."""
    question = BANK.get("int-lora-mechanism")
    phrasings = grading.phrasings_for(question)
    args = (question.key_points, question.correct_text, question.wrong_choices, question.question, question.answer)
    for k, phrasing in enumerate(phrasings):
        said = grading.signals(phrasing.say[3], *args, phrasings)
        misstated = grading.signals(phrasing.untrue[0], *args, phrasings)
        assert misstated.false_gap[k] > said.false_gap[k]
        assert grading.point_probabilities(misstated)[k] < grading.point_probabilities(said)[k]


def test_the_lead_tells_a_key_point_made_from_one_merely_near():
    """Signals.lead: where the clause nearest a key point is nearer it than any other key point, the key point is
    made far more often (on the 170 fitting answers, 60% against 15%); and a larger lead raises the probability."""
    led, trailing = [], []
    for a in FITTING:
        q = BANK.get(a["question"])
        sig = grading.signals(a["text"], q.key_points, q.correct_text, q.wrong_choices, q.question, q.answer,
                              grading.phrasings_for(q))
        assert len(sig.lead) == len(q.key_points)
        for k, lead in enumerate(sig.lead, 1):
            (led if lead > 0 else trailing).append(k in a["made"])
    assert sum(led) / len(led) > 2 * sum(trailing) / len(trailing)
    sig = grading.signals("a reward model", ("reward model",), phrasings=(grading.Phrasing(("a reward model",)),))
    assert sig.lead == [0.0]  # one key point: nothing to lead
    sig = dataclasses.replace(sig, lead=[0.2])
    assert grading.point_probabilities(sig)[0] > grading.point_probabilities(dataclasses.replace(sig, lead=[0.0]))[0]


def test_unreadable_phrasings_leave_grading_on_the_key_points(monkeypatch):
    question = BANK.get("int-lora-mechanism")
    text = "LoRA freezes the base weights and trains two small low-rank matrices added to them."
    plain = grade(text, question.key_points, question.correct_text, question.wrong_choices,
                  question=question.question, model_answer=question.answer)
    for blocks in ({question.id: f"{question.id}:\n  'unclosed: [\n"}, {question.id: f"{question.id}: 3\n"}, {}):
        monkeypatch.setattr(grading, "_phrasing_blocks", lambda blocks=blocks: blocks)
        grading._phrasings_of.cache_clear()
        assert grading.phrasings_for(question) == ()
        assert grade_question(text, question) == plain
    monkeypatch.undo()
    grading._phrasings_of.cache_clear()
    assert grading._phrasing_blocks(grading.PHRASINGS_FILE.with_name("no-such-file.yaml")) == {}
    assert grading.phrasings_for(question) != ()


# ---- the model answer, odd input, the model -------------------------------------------------------


def test_model_answers_grade_good():
    """Each multiple-choice question's right choice with its model answer grades good; an open-ended question's
    model answer alone does (every question is also graded as if it were open-ended)."""
    weak = [q.id for q in BANK.questions
            if grade_question((q.correct_text + ". " if q.choices else "") + q.answer, q).verdict != "good"]
    assert weak == []
    as_open = [dataclasses.replace(q, choices=(), correct=0) for q in BANK.questions]
    assert all(q.is_open and q.correct_text == "" for q in as_open)
    assert [q.id for q in as_open if grade_question(q.answer, q).verdict != "good"] == []


def test_answers_that_say_nothing_are_wrong():
    for question in BANK.questions[:80]:
        for text in ("I have no idea", "no clue sorry", "lorem ipsum dolor sit amet", "ok", "¯\\_(ツ)_/¯"):
            result = grade_question(text, question)
            assert result.verdict == "wrong" and not any(result.found), (question.id, text)


def test_scores_stay_in_range_for_odd_input():
    question = BANK.get("int-lora-mechanism")
    for text in ("", "   ", "🦄" * 1000, "a " * 30_000, "<@123> @everyone **x**", "\x00\x1b", "1. 2. 3.", "-" * 500):
        result = grade_question(text, question)
        assert 0.0 <= result.score <= 1.0 and len(result.found) == len(question.key_points)
        assert result.verdict == verdict_for(result.score) and result.grader == "built-in"


def test_key_points_only_grading_works_without_choices_or_model_answer():
    points = ("low-rank matrices A and B", "base weights stay frozen", "fewer trainable parameters")
    result = grade("LoRA keeps the base weigths frozen and learns two low rank matrixes A and B; far fewer "
                   "trainable params", points)
    assert sum(result.found) >= 2 and result.verdict == "good"
    assert grade("I have no idea, sorry", points).found == (False, False, False)


def test_a_wrong_choice_is_a_misconception():
    question = BANK.get("int-lora-mechanism")
    right = grade_question("It adds a trainable low-rank product alongside the frozen weight matrix", question)
    wrong = grade_question(question.wrong_choices[-1], question)
    assert right.core > wrong.core and wrong.misconception and not right.misconception
    assert right.score > wrong.score and wrong.verdict == "wrong"


def test_the_embedding_model_loads_once():
    grade_question("warm up", BANK.questions[0])
    model = grading._model
    for question in BANK.questions[:5]:
        grade_question("attention looks at every token", question)
    assert model is not None and grading._model is model


def test_weighted_pooling_is_a_weighted_mean_of_wordllamas_vectors():
    """A phrased question's texts pool their tokens by the weights of bot/token_weights.txt: the direction of the
    weighted sum of WordLlama's own token vectors."""
    import numpy as np

    tokenizer, table = grading._wordllama()
    weights = grading._token_weights()
    text = "it only keeps the keys and values of past tokens, never recomputed"
    ids = [i for w in text.split() for i in tokenizer.encode(w, add_special_tokens=False).ids]
    assert len({float(weights[i]) for i in ids}) > 3  # the file weighs these tokens differently
    expected = (table[ids].astype(np.float32) * weights[ids][:, None]).sum(axis=0)
    expected /= np.linalg.norm(expected)
    assert np.abs(grading._embed([text], weighted=True)[0] - expected).max() < 1e-5
    assert np.abs(grading._embed([text])[0] - expected).max() > 1e-3  # unweighted is the plain mean


def test_token_weights_file_reads_and_a_bad_file_weighs_one(tmp_path, monkeypatch, caplog):
    """Every line of the shipped file names its id's token in this WordLlama; a line that does not read, or whose
    id is another token (another vocabulary), leaves that token at weight 1, and a changed vocabulary is logged."""
    shipped, shipped_file = grading._token_weights(), grading.TOKEN_WEIGHTS_FILE
    assert int((shipped != 1).sum()) >= 1000
    assert shipped.min() > 0.3 and shipped.max() < 3
    bad = tmp_path / "weights.txt"
    token = grading._wordllama()[0].id_to_token
    bad.write_text(f"# header\n5\t{token(5)}\t2.5\nnot a line\n7\t{token(7)}\tminus\n-3\tz\t2\n99999999\tw\t2\n"
                   f"9\t{token(9)}\t0\n11\tnot-its-token\t2\n", encoding="utf-8")
    for path, changed in ((bad, {5: 2.5}), (tmp_path / "missing.txt", {})):
        monkeypatch.setattr(grading, "TOKEN_WEIGHTS_FILE", path)
        grading._token_weights.cache_clear()
        try:
            weights = grading._token_weights()
            assert {int(i): float(weights[i]) for i in np.flatnonzero(weights != 1)} == changed
        finally:
            grading._token_weights.cache_clear()
    assert "1 token ids name other tokens" in caplog.text
    lines = [line for line in shipped_file.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert len(lines) == int((shipped != 1).sum())  # every line read, and named its own token


def test_token_weights_bring_phrasings_nearer_their_own_key_point_on_questions_they_were_not_fitted_on():
    """The weights were fitted on the phrasings of questions no labelled set uses (benchmarks/fit_token_weights.py).
    On the fitting sets' questions, a phrasing's nearest key point of its question is its own more often with them
    (77.8% against 76.0% when measured)."""
    questions = {a["question"] for a in FITTING + NEWER}
    hits = {False: 0, True: 0}
    total = 0
    for qid in sorted(questions):
        q = BANK.get(qid)
        phrasings = grading.phrasings_for(q)
        if len(q.key_points) < 2 or not phrasings:
            continue
        says = [(k, s) for k, p in enumerate(phrasings) for s in p.say]
        total += len(says)
        for weighted in (False, True):
            def embed(texts: list[str], weighted: bool = weighted) -> np.ndarray:
                return grading._embed([" ".join(grading._tokens(t)) for t in texts], weighted=weighted)
            nearest = (embed([s for _, s in says]) @ embed(list(q.key_points)).T).argmax(axis=1)
            hits[weighted] += sum(int(n == k) for n, (k, _) in zip(nearest, says, strict=True))
    assert total > 2500
    assert hits[True] / total > hits[False] / total + 0.01, (hits, total)


@pytest.mark.parametrize(("a", "b"), [("quantization", "quantisation"), ("embeddings", "embedding"),
                                      ("recomputing", "recompute"), ("tokenizer", "tokenization"),
                                      ("VRAM", "memory"), ("fetches", "retrieve"), ("matrices", "matrix")])
def test_variants_fold_to_one_stem(a, b):
    assert stem(words(a)[0]) == stem(words(b)[0])


def test_embeddings_are_wordllamas_own():
    """The grader reads WordLlama's table and tokenizer from its wheel itself; the vectors are the ones
    WordLlama.load(..., disable_download=True).embed gives."""
    from pathlib import Path

    import numpy as np
    import wordllama
    from wordllama import WordLlama

    texts = ["it is how much text the model can see at once", "kv cache stores past keys and values",
             "self-attention ignores word order", "rlhf"]
    model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    expected = model.embed(texts, norm=True)
    assert np.abs(grading._embed(texts) - expected).max() < 1e-5
