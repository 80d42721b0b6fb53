"""Fit bot/token_weights.txt: one weight per WordLlama token, used when the grader pools a text's tokens.

WordLlama pools a text by the plain mean of its token embeddings, so "tokens" and "model", which every key point
of an LLM question is near, weigh as much as "only" or "never", which tell a key point from a false statement of
it. Here each token gets a weight exp(theta) (theta = 0 for a token never seen: weight 1), learned so that each
key point's `say` phrasings (bot/phrasings.yaml) come closest to their own key point, against the question's other
key points, the key point's `untrue` phrasings and 32 key points of other questions (a softmax over cosines,
temperature 0.05, L2 penalty 0.01 on theta, 10 passes, Adam).

Trained only on the phrasings of questions that no labelled answer set uses (neither the fitting sets nor the
two held-out sets of issue 11), so the cross-validation of benchmarks/grading_fit.py and the held-out figures stay
measured on questions the weights never saw. The phrasings of the fitting questions are the check printed here:
how often a phrasing's nearest key point of its question is its own, before and after.

Needs PyTorch, for this script only (the bot reads the result with numpy):
    pip install torch && python benchmarks/fit_token_weights.py [--write]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot import grading  # noqa: E402

LABELLED = ("graded_answers.yaml", "graded_answers_heldout.yaml", "grading_fit_1.yaml", "grading_fit_2.yaml",
            "grading_fit_3.yaml", "grading_heldout.yaml", "grading_heldout_2.yaml")
HELD_OUT = ("grading_heldout.yaml", "grading_heldout_2.yaml")
TEMPERATURE, PENALTY, PASSES, OTHERS, RATE, SEED = 0.05, 0.01, 10, 32, 3e-3, 0
KEEP_FROM = 0.005  # weights within this of 1 are not written (they are 1)

Ids = list[int]
Question = list[tuple[Ids, list[Ids], list[Ids]]]  # per key point: its ids, its say phrasings', its untrue ones'


def _ids(text: str) -> Ids:
    """The token ids the grader pools for this text (its words, folded, as grading.signals embeds a unit)."""
    return [i for w in grading._tokens(text) for i in grading._word_ids(w)]


def questions() -> tuple[list[Question], list[Question]]:
    """(training questions: no labelled set uses them, check questions: the fitting sets use them)."""
    used: dict[str, set[str]] = {}
    for name in LABELLED:
        for answer in yaml.safe_load((REPO / "tests" / "data" / name).read_text())["answers"]:
            used.setdefault(name, set()).add(answer["question"])
    labelled = set().union(*used.values())
    fitting = labelled - set().union(*(used[name] for name in HELD_OUT))
    train, check = [], []
    for qid, points in yaml.safe_load(grading.PHRASINGS_FILE.read_text(encoding="utf-8")).items():
        question = [(_ids(point), [_ids(s) for s in entry.get("say") or ()],
                     [_ids(s) for s in entry.get("untrue") or ()]) for point, entry in points.items()]
        if qid not in labelled:
            train.append(question)
        elif qid in fitting:
            check.append(question)
    return train, check


def main() -> None:
    try:
        import torch
    except ImportError:
        sys.exit("fit_token_weights.py needs PyTorch, for this fit only: pip install torch")

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write bot/token_weights.txt")
    args = parser.parse_args()
    random.seed(SEED)
    torch.manual_seed(SEED)
    tokenizer, table = grading._wordllama()
    table_t = torch.tensor(table.astype(np.float32))
    theta = torch.zeros(table.shape[0], requires_grad=True)

    def embed(texts: list[Ids]) -> torch.Tensor:
        rows = []
        for ids in texts:
            t = torch.tensor(ids or [0])
            w = torch.exp(theta[t])
            rows.append((table_t[t] * w[:, None]).sum(0))
        return torch.nn.functional.normalize(torch.stack(rows), dim=1)

    def nearest_is_own(qs: list[Question]) -> float:
        with torch.no_grad():
            hit = total = 0
            for q in qs:
                if len(q) < 2:
                    continue
                points = embed([p[0] for p in q])
                for k, (_, says, _) in enumerate(q):
                    if says:
                        hit += int(((embed(says) @ points.T).argmax(1) == k).sum())
                        total += len(says)
            return hit / total

    train, check = questions()
    all_points = [p[0] for q in train for p in q]
    print(f"{len(train)} training questions ({len(all_points)} key points), {len(check)} check questions")
    print(f"a phrasing's nearest key point is its own: check {nearest_is_own(check):.1%}, "
          f"training {nearest_is_own(train):.1%} (plain mean)")
    optimiser = torch.optim.Adam([theta], lr=RATE)
    for step in range(PASSES):
        random.shuffle(train)
        for q in train:
            anchors = [s for _, says, _ in q for s in says]
            targets = [k for k, (_, says, _) in enumerate(q) for _ in says]
            if not anchors:
                continue
            rivals = [p[0] for p in q] + [u for _, _, untrue in q for u in untrue] + random.sample(all_points, OTHERS)
            logits = embed(anchors) @ embed(rivals).T / TEMPERATURE
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor(targets)) + PENALTY * (theta ** 2).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        print(f"pass {step + 1}: check {nearest_is_own(check):.1%}, training {nearest_is_own(train):.1%}", flush=True)
    weights = np.exp(theta.detach().numpy())
    kept = [(i, float(w)) for i, w in enumerate(weights) if abs(w - 1) >= KEEP_FROM]
    print(f"{len(kept)} tokens weigh other than 1, from {weights.min():.2f} to {weights.max():.2f}")
    if args.write:
        lines = [f"{i}\t{tokenizer.id_to_token(i)}\t{w:.3f}" for i, w in kept]
        grading.TOKEN_WEIGHTS_FILE.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {grading.TOKEN_WEIGHTS_FILE}")


HEADER = """\
# A weight per WordLlama token for pooling a text's tokens (bot/grading.py); every token not listed weighs 1.
# Written by benchmarks/fit_token_weights.py from the phrasings of questions no labelled answer set uses.
# token id <tab> token (for the reader) <tab> weight
"""

if __name__ == "__main__":
    main()
