"""How far two labellers agree on the fitting answers, and the built-in grader against each of them.

tests/data/grading_second_labels.yaml holds a second, blind labelling of the 620 fitting answers (the writers'
labels, `made:` lists and styles unseen, answers shuffled within each question). Agreement between the two
labellings bounds what any grader can show against one of them: a goal far above it would measure label noise.

    python benchmarks/label_agreement.py
    python benchmarks/label_agreement.py --labels grading_heldout_2_second_labels.yaml

Figures, as in grading_agreement.py: exact 3-class agreement, pass/fail (good vs not), same-question pairs
with different reference labels ordered right (by the other labels' rank, or by the grader's score; a tie is not
right), Cohen's kappa, and for key points the share of one labeller's `made` the other also marks.
`--labels grading_heldout_2_second_labels.yaml` does the same for the second held-out set (250 answers), and so
reads the grader's verdicts on it: run it only to report, never while choosing anything.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
sys.path.insert(0, str(REPO))

from bot import grading  # noqa: E402
from bot.questions import load_bank  # noqa: E402

RANK = {"good": 2, "partial": 1, "wrong": 0}
FILES = ("graded_answers.yaml", "graded_answers_heldout.yaml", "grading_fit_1.yaml", "grading_fit_2.yaml",
         "grading_fit_3.yaml", "grading_heldout_2.yaml")


def kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa: agreement beyond what the two label frequencies give by chance."""
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    chance = sum(a.count(c) / n * b.count(c) / n for c in RANK)
    return (observed - chance) / (1 - chance)


def figures(questions: list[str], reference: list[str], other: list[str], score: list[float]) -> str:
    n = len(reference)
    exact = sum(x == y for x, y in zip(reference, other, strict=True)) / n
    passed = sum((x == "good") == (y == "good") for x, y in zip(reference, other, strict=True)) / n
    ordered = total = 0
    for i in range(n):
        for j in range(i + 1, n):
            if questions[i] == questions[j] and reference[i] != reference[j]:
                total += 1
                ordered += (score[i] - score[j]) * (RANK[reference[i]] - RANK[reference[j]]) > 0
    return (f"exact {exact:.1%}  pass/fail {passed:.1%}  pairs {ordered / max(1, total):.1%} (of {total})  "
            f"kappa {kappa(reference, other):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", default="grading_second_labels.yaml",
                        help="the second labelling, under tests/data (grading_heldout_2_second_labels.yaml: the "
                             "second held-out set's)")
    args = parser.parse_args()
    bank = load_bank(REPO / "questions.yaml")
    written = {name: yaml.safe_load((DATA / name).read_text())["answers"] for name in FILES}
    second = yaml.safe_load((DATA / args.labels).read_text())["answers"]
    questions, first, again, verdicts, scores = [], [], [], [], []
    made_first = made_again = made_both = 0
    confusion: Counter[str] = Counter()
    for row in second:
        answer = written[row["file"]][row["answer"] - 1]
        if answer["question"] != row["question"]:
            raise SystemExit(f"{row['file']} answer {row['answer']} is no longer to {row['question']}: relabel")
        grade = grading.grade_question(answer["text"], bank.get(row["question"]))
        questions.append(row["question"])
        first.append(answer["label"])
        again.append(row["label"])
        verdicts.append(grade.verdict)
        scores.append(grade.score)
        confusion[f"{answer['label']}->{row['label']}"] += 1
        a, b = set(answer["made"]), set(row["made"])
        made_first, made_again, made_both = made_first + len(a), made_again + len(b), made_both + len(a & b)
    ranks = [float(RANK[label]) for label in again]
    print(f"{len(first)} answers to {len(set(questions))} questions")
    print(f"second labeller vs writers:  {figures(questions, first, again, ranks)}")
    print(f"   (writer->second) {dict(sorted(confusion.items()))}")
    print(f"   key points made: writers {made_first}, second {made_again}, both {made_both} "
          f"({made_both / max(1, made_again):.1%} of the second's, "
          f"{made_both / max(1, made_first):.1%} of the writers')")
    print(f"grader vs writers:           {figures(questions, first, verdicts, scores)}")
    print(f"grader vs second labeller:   {figures(questions, again, verdicts, scores)}")
    keep = [i for i in range(len(first)) if first[i] == again[i]]
    print(f"grader where both agree ({len(keep)}): "
          f"{figures(*([xs[i] for i in keep] for xs in (questions, first, verdicts, scores)))}")


if __name__ == "__main__":
    main()
