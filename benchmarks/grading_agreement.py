"""How well the written-answer graders agree with interviewer labels, one table per labelled set.

    python benchmarks/grading_agreement.py              # the built-in grader, and the judge when configured
    python benchmarks/grading_agreement.py --no-judge   # the built-in grader only
    python benchmarks/grading_agreement.py --only held-out-2 --questions 10 --judge-timeout 60
        # a slow local judge: one set, the answers to its first 10 questions, a longer timeout per request

The judge is measured when STUDYBOT_JUDGE_URL (and STUDYBOT_JUDGE_MODEL) are set, in the environment or
./.env: every answer of every set is then sent to that endpoint. An answer the judge gave no grade for
gets the built-in grade (as in the bot) and is counted under "fallbacks".

Sets, in tests/data/:
- fitting: graded_answers.yaml and graded_answers_heldout.yaml; the built-in grader's weights were fitted
  on them, so its figures there are optimistic;
- held-out: grading_heldout.yaml and grading_heldout_2.yaml (each its own table), when present; never used
  to fit anything. This script only reads them to report; nothing may be tuned on what it prints for them.

Figures:
- exact: share of answers whose verdict (good / partial / wrong) is the label;
- pass/fail: share where "verdict is good" agrees with "label is good";
- pairs: of the pairs of answers to one question with different labels, the share the score orders
  right (good > partial > wrong); a tie is not right;
- key point precision (and recall): on answers that carry `made: [1-based key points]`, of the key
  points the grader marks as made, the share the answer really makes (of those made, the share marked).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
FITTING = ("graded_answers.yaml", "graded_answers_heldout.yaml")
HELD_OUT = (("held-out set 1", "grading_heldout.yaml"), ("held-out set 2", "grading_heldout_2.yaml"))
SET_NAMES = ("fitting", "held-out-1", "held-out-2")  # --only's names: the fitting set, then HELD_OUT in order
RANK = {"wrong": 0, "partial": 1, "good": 2}


@dataclass(frozen=True)
class Labelled:
    question: object  # bot.models.Question
    label: str
    text: str
    made: frozenset[int] | None  # 1-based key points the answer really makes, where labelled


@dataclass(frozen=True)
class Graded:
    score: float
    verdict: str
    found: tuple[bool, ...]
    fallback: bool = False
    seconds: float = 0.0


def load_set(files: tuple[str, ...], bank) -> tuple[list[Labelled], int]:
    """The answers of the files that exist, and how many were skipped (question not in the bank)."""
    answers, skipped = [], 0
    for name in files:
        path = DATA / name
        if not path.is_file():
            continue
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in raw["answers"] if isinstance(raw, dict) else raw:
            question = bank.get(item["question"])
            if question is None or item.get("label") not in RANK:
                skipped += 1
                continue
            made = item.get("made")
            answers.append(Labelled(question, item["label"], str(item["text"]),
                                    frozenset(made) if made is not None else None))
    return answers, skipped


def first_questions(answers: list[Labelled], n: int) -> list[Labelled]:
    """The answers to the first n questions met in the set, all of each question's answers (pairs stay whole)."""
    keep: list[str] = []
    for a in answers:
        if a.question.id not in keep and len(keep) < n:
            keep.append(a.question.id)
    return [a for a in answers if a.question.id in keep]


def measure(answers: list[Labelled], graded: list[Graded]) -> dict:
    n = len(answers)
    exact = sum(a.label == g.verdict for a, g in zip(answers, graded, strict=False)) / n
    passed = sum((a.label == "good") == (g.verdict == "good") for a, g in zip(answers, graded, strict=False)) / n
    ordered = pairs = 0
    for i, (a, ga) in enumerate(zip(answers, graded, strict=False)):
        for b, gb in zip(answers[i + 1:], graded[i + 1:], strict=False):
            if a.question.id != b.question.id or a.label == b.label:
                continue
            pairs += 1
            high, low = (ga, gb) if RANK[a.label] > RANK[b.label] else (gb, ga)
            ordered += high.score > low.score
    marked = right = made = hit = 0
    for a, g in zip(answers, graded, strict=False):
        if a.made is None:
            continue
        found = {i for i, ok in enumerate(g.found, 1) if ok}
        marked, right = marked + len(found), right + len(found & a.made)
        made, hit = made + len(a.made), hit + len(found & a.made)
    seconds = sorted(g.seconds for g in graded)
    return {
        "answers": n, "exact": exact, "pass_fail": passed,
        "pairs_ordered": ordered / pairs if pairs else None, "pairs": pairs,
        "kp_precision": right / marked if marked else None, "kp_recall": hit / made if made else None,
        "kp_marked": marked, "kp_answers": sum(a.made is not None for a in answers),
        "fallbacks": sum(g.fallback for g in graded),
        "ms_median": statistics.median(seconds) * 1000, "ms_p99": seconds[max(0, int(len(seconds) * 0.99) - 1)] * 1000,
        "confusion": Counter((a.label, g.verdict) for a, g in zip(answers, graded, strict=False)),
    }


def built_in(answers: list[Labelled]) -> list[Graded]:
    from bot.grading import grade_question

    out = []
    for a in answers:
        started = time.perf_counter()
        grade = grade_question(a.text, a.question)
        out.append(Graded(grade.score, grade.verdict, tuple(grade.found), seconds=time.perf_counter() - started))
    return out


async def judged(judge, sets: list[list[Labelled]]) -> list[list[Graded]]:
    """The judge's grades of every set, in one event loop (a few requests in flight at once)."""
    import aiohttp

    from bot.judge import BUILT_IN

    async def one(a: Labelled, session) -> Graded:
        started = time.perf_counter()
        grade = await judge.grade(a.text, a.question, session)
        return Graded(grade.score, grade.verdict, tuple(grade.found), getattr(grade, "grader", "") == BUILT_IN,
                      time.perf_counter() - started)  # includes the wait for a free slot

    async with aiohttp.ClientSession() as session:
        return [list(await asyncio.gather(*(one(a, session) for a in answers))) for answers in sets]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def table(title: str, rows: list[tuple[str, dict]]) -> str:
    lines = [f"\n{title}", "", "| grader | answers | exact (3 classes) | pass/fail | pairs ordered | "
             "key points: precision | recall | fallbacks | ms per answer (median / p99) |", "|---" * 9 + "|"]
    for name, m in rows:
        pairs = f"{_pct(m['pairs_ordered'])} of {m['pairs']}"
        precision = f"{_pct(m['kp_precision'])} of {m['kp_marked']} ({m['kp_answers']} answers)"
        lines.append(f"| {name} | {m['answers']} | {_pct(m['exact'])} | {_pct(m['pass_fail'])} | {pairs} | "
                     f"{precision} | {_pct(m['kp_recall'])} | {m['fallbacks']} | "
                     f"{m['ms_median']:.1f} / {m['ms_p99']:.1f} |")
    for name, m in rows:
        cells = sorted(m["confusion"].items())
        confusion = ", ".join(f"{label}→{verdict} {count}" for (label, verdict), count in cells)
        lines.append(f"{name} (label→verdict): {confusion}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-judge", action="store_true", help="measure the built-in grader only")
    parser.add_argument("--bank", type=Path, default=REPO / "questions.yaml", help="the question bank")
    parser.add_argument("--only", choices=SET_NAMES, action="append",
                        help="measure this set only (repeatable); default: every set")
    parser.add_argument("--questions", type=int, metavar="N",
                        help="only the answers to each set's first N questions (all of each one's answers)")
    parser.add_argument("--judge-timeout", type=float, metavar="SECONDS",
                        help="the judge's timeout per request (default: the bot's); a model on a CPU needs more")
    args = parser.parse_args(argv)

    from bot.config import ConfigError, load_settings
    from bot.judge import Judge
    from bot.questions import load_bank

    bank = load_bank(args.bank)
    sets = [("fitting set (the built-in grader was fitted on it): " + " + ".join(FITTING), load_set(FITTING, bank))]
    sets += [(f"{name} (never used to fit anything): {file}", load_set((file,), bank)) for name, file in HELD_OUT]
    if args.only:
        sets = [s for name, s in zip(SET_NAMES, sets, strict=True) if name in args.only]
    if args.questions is not None:
        sets = [(title, (first_questions(answers, args.questions), skipped)) for title, (answers, skipped) in sets]
    judge = None
    if not args.no_judge:
        try:
            settings = load_settings()
        except ConfigError as error:
            print(f"configuration error: {error}", file=sys.stderr)
            return 2
        total = sum(len(answers) for _, (answers, _) in sets)
        options = {"timeout": args.judge_timeout} if args.judge_timeout else {}
        judge = Judge.from_settings(settings, daily_cap=3 * total + 10, **options)  # room for every retry
    print(f"judge: {f'{judge.model} at {judge.url} (the answers are sent there)' if judge else 'not configured'}")
    by_judge = asyncio.run(judged(judge, [answers for _, (answers, _) in sets])) if judge else [None] * len(sets)
    for (title, (answers, skipped)), judge_grades in zip(sets, by_judge, strict=False):
        if not answers:
            print(f"\n{title}\n\nabsent: nothing to measure")
            continue
        rows = [("built-in", measure(answers, built_in(answers)))]
        if judge_grades is not None:
            rows.append((f"judge ({judge.model})", measure(answers, judge_grades)))
        note = f" ({skipped} answers skipped: question not in {args.bank.name})" if skipped else ""
        print(table(title + note, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
