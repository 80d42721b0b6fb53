"""`studybot check --strict`: each quality rule fails on a bad bank and passes on a good one, with the question's
line."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from bot.cli import main
from bot.lint import (
    ALLOW_FILE,
    MAX_GIVEAWAY,
    NEAR_DUPLICATE,
    SEMANTIC_DUPLICATE,
    AllowedPair,
    giveaway_figures,
    lint,
    load_allowed,
    load_topics,
    longest_score,
    similarities,
    strike_score,
)
from bot.models import Bank, Question

ANSWER = " ".join(["Byte-pair encoding merges the most frequent adjacent pair of symbols again and again."] * 5)
BASE = Question(
    id="q1", level="basic", topic="Tokenization", covers=("dc-06",),
    question="Which rule does byte-pair encoding follow when it builds its vocabulary?",
    choices=("Merge the most frequent adjacent pair", "Split words at each vowel boundary you find",
             "Keep dictionary words as whole units", "Assign one token to each character"),
    correct=1, answer=ANSWER, key_points=("most frequent pair", "merged repeatedly", "subword vocabulary"), line=3,
)
OPEN_ANSWER = " ".join(
    ["A KV cache keeps the keys and values of earlier tokens so that decoding does not recompute them."] * 8)
OPEN = Question(
    id="o1", level="advanced", topic="Serving", covers=("dc-18",),
    question="Explain what a KV cache stores during decoding, what it saves and what it costs.",
    choices=(), correct=0, answer=OPEN_ANSWER,
    key_points=("keys and values of past tokens", "no recomputation for earlier tokens",
                "memory grows with sequence length", "memory limits batch size"), line=30,
)
# ten multiple-choice questions on different ideas, for the per-level rules
IDEAS = [
    ("Why are attention scores divided by the square root of the key dimension?",
     "To keep softmax inputs in a sane range"),
    ("What does a longer context window cost at inference time?", "More memory and compute per request"),
    ("What does lowering the sampling temperature do to the next-token distribution?",
     "It sharpens it toward likely tokens"),
    ("Why does 4-bit weight quantization speed up single-user decoding?", "Fewer bytes cross the memory bus per token"),
    ("When is retrieval a better fit than fine-tuning for a support bot?", "When the source documents change weekly"),
    ("What is concept drift in a moderation model?", "The meaning of a label changes over time"),
    ("What does the reward model learn from in classic RLHF?", "Pairs of answers ranked by people"),
    ("Why can few-shot examples help a classification prompt?", "They show the label format by example"),
    ("What do sentence embeddings let a search system compare?", "Meaning, through distances between vectors"),
    ("What does perplexity measure for a language model?", "How surprised it is by held-out text"),
]
WRONG = ("A plausible neighbouring technique, stated with care", "A real misconception stated plainly",
         "A true fact about another topic")


def problems(*questions: Question, topics=(), allowed=(), levels=("basic", "advanced")) -> list[str]:
    bank = Bank(tuple(levels), tuple(questions))
    return [f"{p.line}: {p.message}" for p in lint(bank, Path("bank.yaml"), topics, allowed)]


def level_of(count: int, right_at=lambda i: i % 4, wrong=WRONG, right_suffix="") -> list[Question]:
    """`count` questions of level basic on different ideas; the right choice at position right_at(i)."""
    questions = []
    for i, (text, right) in enumerate(IDEAS[:count]):
        choices = list(wrong)
        choices.insert(right_at(i), right + right_suffix)
        questions.append(replace(BASE, id=f"q{i}", line=10 * i + 3, question=text, choices=tuple(choices),
                                 correct=right_at(i) + 1))
    return questions


def test_a_good_question_passes():
    assert problems(BASE) == []
    assert problems(OPEN) == []
    assert problems(*level_of(10)) == []


def test_each_multiple_choice_rule():
    cases = {
        "3 choices": replace(BASE, choices=BASE.choices[:3]),
        "catch-all": replace(BASE, choices=(*BASE.choices[:3], "All of the above")),
        "answer has 8 words": replace(BASE, answer="BPE merges frequent pairs, again and again, always."),
        "over 8 words": replace(BASE, key_points=("the most frequent adjacent pair of symbols is merged next", "b c",
                                                  "d e")),
        "only long one": replace(BASE, choices=("Merge the most frequent adjacent pair of symbols, again and again "
                                                "until the vocabulary is full", "Vowels", "Words", "Letters")),
        "only repeats words of the question": replace(BASE, choices=(*BASE.choices[:3],
                                                                     "Byte-pair encoding vocabulary")),
        "covers is empty": replace(BASE, covers=()),
    }
    for words, question in cases.items():
        found = problems(question)
        assert any(words in p and p.startswith("3: ") for p in found), (words, found)


def test_open_ended_rules():
    assert problems(OPEN) == []
    assert not any("choice" in p for p in problems(OPEN)), "no choice rule applies to an open-ended question"
    short = replace(OPEN, answer=ANSWER)  # 65 words: fine for multiple choice, too short for an open answer
    long = replace(OPEN, answer=" ".join([OPEN_ANSWER] * 3))
    three_points = replace(OPEN, key_points=OPEN.key_points[:3])
    wordy_point = replace(OPEN, key_points=(*OPEN.key_points[:3], "the cache grows linearly with both the batch "
                                            "size and the number of tokens in the sequence"))
    assert any("answer has 65 words; keep it between 120 and 300" in p and p.startswith("30: ")
               for p in problems(short))
    assert any("answer has" in p and "between 120 and 300" in p for p in problems(long))
    assert any("3 key points; give 4 to 6" in p for p in problems(three_points))
    assert any("over 12 words" in p for p in problems(wordy_point))
    nine_words = replace(OPEN, key_points=(*OPEN.key_points[:3], "memory grows with every token of every sequence"))
    assert problems(nine_words) == [], "an open answer's key point may have up to 12 words"
    mc_long = replace(BASE, answer=" ".join([ANSWER] * 3))  # 195 words: too long for multiple choice
    assert any("between 40 and 180" in p for p in problems(mc_long))


def test_blind_strategies_score_each_question():
    assert strike_score(BASE) == 0.25  # nothing struck: a uniform guess among four
    struck = replace(BASE, choices=("Merge the most frequent adjacent pair", "Always split at vowels",
                                    "Keep only dictionary words", "Never merge rare pairs"))
    assert strike_score(struck) == 1.0
    right_struck = replace(struck, choices=("Merge all frequent adjacent pairs", *struck.choices[1:]))
    assert strike_score(right_struck) == 0.25  # every choice struck: guess among all four
    half = replace(BASE, choices=(BASE.choices[0], "It can't split words", *BASE.choices[2:]))
    assert strike_score(half) == pytest.approx(1 / 3)
    choices = (BASE.choices[0], "Use all-reduce across workers", *BASE.choices[2:])
    assert strike_score(replace(BASE, choices=choices)) == 0.25
    assert longest_score(BASE) == 0.0
    tie = replace(BASE, choices=("aaaa", "bbbb", "cc", "d"))
    assert longest_score(tie) == 0.5


def test_giveaway_by_absolute_wording_fails_the_level_and_reports_both_figures():
    loaded = ("Always a plausible neighbouring technique, stated with care",
              "Never a real misconception stated plainly", "Only a true fact about another topic")
    found = problems(*level_of(10, wrong=loaded))
    message = next(p for p in found if "level 'basic'" in p)
    assert message.startswith("1: ") and "100.0% by striking choices with absolute wording" in message
    assert "0.0% by picking the longest choice" in message and f"limit {MAX_GIVEAWAY:.0%}" in message
    # balanced: absolute words as often in right choices as in wrong ones give nothing away
    balanced = level_of(10, right_suffix=", always")[:5] + level_of(10, wrong=(loaded[0], *WRONG[1:]))[5:]
    assert giveaway_figures(Bank(("basic",), tuple(balanced)))["basic"].strike == pytest.approx(5 * (1 / 3) / 10)
    assert not any("level 'basic'" in p for p in problems(*balanced))


def test_giveaway_by_length_fails_the_level():
    found = problems(*level_of(10, right_suffix=", which a careful reader would pick"))
    message = next(p for p in found if "level 'basic'" in p)
    assert "25.0% by striking" in message and "100.0% by picking the longest choice" in message
    # right choice longest in 3 of 10: 30%, at the limit, passes
    three = level_of(10)
    three[:3] = level_of(3, right_suffix=", which a careful reader would pick")
    figures = giveaway_figures(Bank(("basic",), tuple(three)))
    assert figures["basic"].longest == pytest.approx(0.3) and not any("level 'basic'" in p for p in problems(*three))


def test_answer_positions_per_level():
    found = problems(*level_of(10, right_at=lambda i: 0))
    assert any("10 of 10 right answers are choice 1" in p for p in found)
    assert problems(*level_of(10)) == []


def test_open_ended_questions_are_left_out_of_the_level_rules():
    opens = [replace(OPEN, id=f"o{i}", level="basic", line=200 + i, question=f"{text} Explain in a few sentences.")
             for i, (text, _) in enumerate(IDEAS)]
    bank = Bank(("basic",), tuple(level_of(8) + opens[:2]))
    assert giveaway_figures(bank)["basic"].questions == 8
    assert not any("level 'basic'" in p for p in problems(*level_of(8), *opens[:2]))
    only_open = Bank(("basic", "system-design"), (replace(OPEN, level="system-design"),))
    assert "system-design" not in giveaway_figures(only_open)


def test_near_duplicates_are_reported_once_at_the_later_question():
    twin = replace(BASE, id="q2", line=20,
                   question="Which rule does byte pair encoding follow when building its vocabulary?")
    found = problems(BASE, twin)
    near = [p for p in found if "near-duplicate" in p]
    assert len(near) == 1 and near[0].startswith("20: ") and f">= {NEAR_DUPLICATE}" in near[0]
    other = replace(BASE, id="q3", line=40, question="Why do subword tokenizers not need an unknown-word token?",
                    choices=("Byte pieces cover every string", *BASE.choices[1:]))
    assert problems(BASE, other) == []


SAME_IDEA = (
    replace(BASE, id="oov", line=50, question="A subword tokenizer meets a long word that is not in its vocabulary "
            "as a whole. What typically happens?", choices=("It is split into several known subword pieces",
            "It becomes a single unknown-word token for the model", "It is dropped from the input text before encoding",
            "It maps to the closest known word by its spelling")),
    replace(BASE, id="rare", line=80, question="How does a subword tokenizer handle a rare drug name such as "
            "tafamidis in a prompt?", choices=(
                "It becomes a single unknown-word token for the model",
                "It is added to the vocabulary as one new token at run time, then learned",
                "It splits it into several known subword pieces, using more tokens",
                "It is dropped from the input text before encoding"), correct=3),
)


def test_one_idea_asked_twice_is_reported_unless_allowed():
    scores = similarities([f"{q.question} {q.correct_text}" for q in SAME_IDEA])
    assert scores[0][1] > SEMANTIC_DUPLICATE + 0.05  # paraphrases that word matching misses
    found = problems(*SAME_IDEA)
    same = [p for p in found if "same idea" in p]
    assert len(same) == 1 and same[0].startswith("80: ") and "'rare' asks much the same idea as 'oov'" in same[0]
    assert not any("near-duplicate" in p for p in found)
    allowed = [AllowedPair(("rare", "oov"), "the same idea at two levels", "allow.yaml", 4)]
    assert problems(*SAME_IDEA, allowed=allowed) == []
    different = replace(SAME_IDEA[1], question="What does lowering the sampling temperature do to an LLM's output?",
                        choices=(SAME_IDEA[1].choices[0], SAME_IDEA[1].choices[1], "It sharpens the next-token "
                                 "distribution", SAME_IDEA[1].choices[3]))
    assert problems(SAME_IDEA[0], different) == []


def test_open_ended_questions_are_compared_by_their_answer_s_first_sentence():
    open_twin = replace(OPEN, id="o2", level="basic", line=90, question=SAME_IDEA[1].question,
                        answer="It splits it into several known subword pieces, using more tokens. " + OPEN_ANSWER)
    assert any("'o2' asks much the same idea as 'oov'" in p for p in problems(SAME_IDEA[0], open_twin))


def test_allow_list_file(tmp_path):
    path = tmp_path / "allow.yaml"
    path.write_text("pairs:\n  - pair: [oov, rare]\n    reason: same idea at two levels\n"
                    "  - pair: [oov, gone]\n    reason: a question deleted since\n")
    allowed = load_allowed(path)
    assert [a.ids for a in allowed] == [("oov", "rare"), ("oov", "gone")] and allowed[1].line == 4
    found = problems(*SAME_IDEA, allowed=allowed)
    assert len(found) == 1 and "allow-list pair oov / gone names an id not in the bank: gone" in found[0]
    for text, words in [("pairs:\n  - pair: [oov]\n    reason: x\n", "needs 'pair: [id, other-id]'"),
                        ("pairs:\n  - pair: [oov, rare]\n", "needs a 'reason'"),
                        ("- just a list\n", "expected a mapping"), ("pairs: [\n", "not valid YAML")]:
        path.write_text(text)
        with pytest.raises(ValueError, match=re.escape(words)):
            load_allowed(path)
    path.write_text("")
    assert load_allowed(path) == []
    assert all(a.reason for a in load_allowed(ALLOW_FILE)), "the shipped allow-list loads, a reason per pair"


SEEDS = "levels: [basic]\ntopics:\n  - id: dc-06\n    level: basic\n    topic: Out-of-vocabulary words\n"
MODERN = "topics:\n  - id: m-07\n    levels: [basic, advanced]\n    topic: Serving\n"


def test_topic_coverage_rules_by_file(tmp_path):
    (tmp_path / "seeds.yaml").write_text(SEEDS)
    (tmp_path / "modern.yaml").write_text(MODERN)
    seeds, modern = load_topics(tmp_path / "seeds.yaml"), load_topics(tmp_path / "modern.yaml")
    assert (seeds.min_questions, seeds.min_open) == (3, 0) and (modern.min_questions, modern.min_open) == (4, 1)
    mc = [replace(q, covers=("dc-06", "m-07")) for q in level_of(4)]
    opened = replace(OPEN, id="o1", covers=("m-07",))
    assert problems(*mc[:3], opened, topics=[seeds, modern]) == []
    found = problems(*mc[:2], opened, topics=[seeds, modern])
    assert any("topic dc-06 (Out-of-vocabulary words) of seeds.yaml is covered by 2 questions; it needs at least 3" in p
               for p in found)
    assert any("topic m-07 (Serving) of modern.yaml is covered by 3 questions; it needs at least 4" in p for p in found)
    found = problems(*mc, topics=[seeds, modern])
    assert found == ["1: topic m-07 (Serving) of modern.yaml is covered by 0 open-ended questions; it needs at least 1"]
    unknown = problems(*mc[:3], opened, replace(BASE, id="x", line=99, covers=("dc-06", "zz-1")),
                       topics=[seeds, modern])
    assert any(p.startswith("99: ") and "covers unknown topic ids: zz-1" in p for p in unknown)
    assert any("unknown topic ids: m-07" in p for p in problems(*mc[:3], opened, topics=[seeds]))
    (tmp_path / "bad.yaml").write_text("levels: [basic]\n")
    with pytest.raises(ValueError, match="topics"):
        load_topics(tmp_path / "bad.yaml")


BANK = """\
levels: [basic, advanced]
questions:
  - id: q1
    level: basic
    topic: Tokenization
    covers: [dc-06, m-07]
    question: "Which rule does byte-pair encoding follow when it builds its vocabulary?"
    choices: ["Merge the most frequent adjacent pair", "Split words at each vowel boundary you find",
              "Keep dictionary words as whole units", "Assign one token to each character"]
    correct: 1
    answer: "{answer}"
    key_points: [most frequent pair, merged repeatedly, subword vocabulary]
"""


def test_check_command_takes_several_topic_files_and_prints_the_figures(tmp_path, capsys):
    (tmp_path / "seeds.yaml").write_text(SEEDS)
    (tmp_path / "modern.yaml").write_text(MODERN)
    (tmp_path / "allow.yaml").write_text("pairs: []\n")
    bank = tmp_path / "bank.yaml"
    bank.write_text(BANK.format(answer=ANSWER))
    both = ["--seeds", str(tmp_path / "seeds.yaml"), "--seeds", str(tmp_path / "modern.yaml")]
    assert main(["check", str(bank), "--strict", "--allow", str(tmp_path / "allow.yaml"), *both]) == 2
    err = capsys.readouterr().err
    assert "dc-06 (Out-of-vocabulary words) of seeds.yaml is covered by 1 question;" in err and "m-07 (Serving)" in err
    assert main(["check", str(bank), "--strict", "--allow", str(tmp_path / "allow.yaml"),
                 "--seeds", str(tmp_path / "seeds.yaml")]) == 2
    assert "covers unknown topic ids: m-07" in capsys.readouterr().err
    bank.write_text(BANK.format(answer=ANSWER).replace("covers: [dc-06, m-07]", "covers: [dc-06]"))
    assert main(["check", str(bank), "--strict", "--allow", str(tmp_path / "allow.yaml")]) == 0
    out = capsys.readouterr().out
    assert "OK (strict)" in out and "  basic: 25.0% striking absolute wording, 0.0% picking the longest choice" in out
    assert main(["check", str(bank), "--strict", "--seeds", str(tmp_path / "nowhere.yaml")]) == 2
    assert "--seeds: cannot read" in capsys.readouterr().err
