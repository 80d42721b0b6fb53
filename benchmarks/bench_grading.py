"""Grading written answers with the built-in grader. Targets: p99 <= 20 ms per answer, RSS increase <= 80 MB.

Answers: the 170 labelled fitting answers, 300-word answers drawn from the bank's vocabulary, and 10,000-character
repetitions. Three timings:
- rounds: 10 answers to each of 60 questions, as a channel round brings them; the first answer to a question
  also computes that question's anchors (its model answer and wrong choices graded once, then cached);
- steady: every answer to a question whose anchors are cached (grading.prepare, or an earlier answer);
- first answers: the first answer to each of 100 other questions alone (anchors computed on the spot).
RSS is measured before the grader is imported and after everything was graded: the embedding table, numpy,
the tokenizer and every cache.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

import yaml
from common import REPO, machine, verdict


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentiles(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.99) - 1)]


def timed(grade, cases, before=None) -> list[float]:
    out = []
    for question, text in cases:
        if before is not None:
            before(question)
        started = time.perf_counter()
        grade(text, question)
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    from bot.questions import load_bank

    bank = load_bank(REPO / "questions.yaml")
    before = rss_mb()
    started = time.perf_counter()
    from bot.grading import grade_question, prepare

    grade_question("warm up", bank.questions[0])  # imports numpy and the tokenizer, loads the embedding table once
    load_ms = (time.perf_counter() - started) * 1000
    rng = random.Random(5)
    vocabulary = " ".join(q.answer for q in bank.questions).split()
    labelled = [a for name in ("graded_answers.yaml", "graded_answers_heldout.yaml")
                for a in yaml.safe_load((REPO / "tests" / "data" / name).read_text())["answers"]]

    def answers_to(question, n: int) -> list[str]:
        out = []
        for i in range(n):
            if i % 3 == 0:
                out.append(" ".join(rng.choice(vocabulary) for _ in range(rng.choice((20, 80, 300)))))
            elif i % 3 == 1:
                sentence = question.answer.split(". ")[0] + ". "
                out.append(sentence * (10_000 // len(sentence) + 1) if i == 1 else question.answer[:300])
            else:
                out.append(rng.choice(labelled)["text"])
        return out

    questions = list(bank.questions)
    rng.shuffle(questions)
    in_rounds, cold, rest = questions[:60], questions[60:160], questions[160:]
    rounds = timed(grade_question, [(q, t) for q in in_rounds for t in answers_to(q, 10)])
    for question in rest:
        prepare(question)
    steady_cases = [(bank.get(a["question"]), a["text"]) for a in labelled]
    steady_cases += [(q, t) for q in rest for t in answers_to(q, 6)]
    # prepared just before each answer (untimed), as the bot prepares a round's question when it posts it: the
    # caches hold CACHED_QUESTIONS questions, so preparing all ~240 first would leave most of them cold again
    steady = timed(grade_question, steady_cases, before=prepare)
    first = timed(grade_question, [(q, answers_to(q, 1)[0]) for q in cold])
    after = rss_mb()
    print(f"machine: {machine()}")
    print(f"embedding table load (first grade, once per process): {load_ms:.0f} ms")
    for name, timings in (("rounds (10 answers a question, first one cold)", rounds),
                          ("steady (question prepared)", steady), ("first answers alone (cold)", first)):
        p50, p99 = percentiles(timings)
        print(f"{name}: {len(timings)} answers, p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(timings):.1f} ms")
    print(f"RSS: {before:.0f} MB before the grader, {after:.0f} MB after: +{after - before:.0f} MB")
    print(f"p99 <= 20 ms in rounds: {verdict(percentiles(rounds)[1] <= 20)}; steady: "
          f"{verdict(percentiles(steady)[1] <= 20)}; RSS increase <= 80 MB: {verdict(after - before <= 80)}")


if __name__ == "__main__":
    main()
