"""The shipped bank is valid; each kind of mistake is reported with its line."""

from __future__ import annotations

import pytest

from bot.questions import check_bank, parse_bank
from tests.conftest import REPO, SHARED

GOOD_QUESTION = """\
  - id: q1
    level: basic
    topic: Tokenization
    covers: [dc-06]
    question: "What does BPE merge?"
    choices: ["Frequent pairs", "Rare pairs", "Whole sentences", "Nothing"]
    correct: 1
    answer: "BPE merges the most frequent pair of symbols."
    key_points: [most frequent pair, symbols, vocabulary]
"""


def bank_text(questions: str = GOOD_QUESTION, levels: str = "[basic, advanced]") -> str:
    return f"levels: {levels}\nquestions:\n{questions}"


def problems_of(text: str) -> list[tuple[int, str]]:
    bank, problems = parse_bank(text, "bank.yaml")
    assert bank is None and problems, "expected the bank to be rejected"
    return [(p.line, p.message) for p in problems]


OLD_LEVELS = {"basic", "intermediate", "advanced", "prompt-engineering", "career"}
SEEDS = SHARED / "question-bank" / "seed-topics.yaml"
TOPICS_2026 = SHARED / "question-bank" / "topics-2026.yaml"


def topic_ids(path) -> set[str]:
    import yaml

    return {t["id"] for t in yaml.safe_load(path.read_text())["topics"]}


def test_shipped_bank_is_valid():
    bank, problems = check_bank(REPO / "questions.yaml")
    assert problems == []
    assert bank is not None and len(bank.questions) >= 43
    assert set(bank.levels) >= OLD_LEVELS, "the five original levels stay (system-design may join them)"


def test_shipped_bank_covers_every_seed_topic():
    if not SEEDS.exists():
        pytest.skip("../shared is not beside this clone")
    seed_ids = topic_ids(SEEDS)
    known = seed_ids | (topic_ids(TOPICS_2026) if TOPICS_2026.exists() else set())
    bank, _ = check_bank(REPO / "questions.yaml")
    covered = {c for q in bank.questions for c in q.covers}
    assert seed_ids - covered == set()
    assert covered - known == set(), "covers names ids of the two topic lists only"
    thin = {seed: n for seed in seed_ids if (n := sum(seed in q.covers for q in bank.questions)) < 3}
    assert thin == {}, "every seed topic needs at least 3 questions"


def test_shipped_bank_covers_every_2026_topic():
    """At least 4 questions per topics-2026 id, 1 of them open-ended: the new questions bring these."""
    if not TOPICS_2026.exists():
        pytest.skip("../shared is not beside this clone")
    bank, _ = check_bank(REPO / "questions.yaml")
    if "system-design" not in bank.levels:
        pytest.skip("the new questions (bank_parts/, level system-design) are not merged yet")
    from bot.lint import coverage, load_topics

    assert coverage(bank, [load_topics(TOPICS_2026)]) == []


def test_shipped_bank_size_per_level():
    bank, _ = check_bank(REPO / "questions.yaml")
    counts = {level: len(bank.of_level(level)) for level in bank.levels}
    assert len(bank.questions) >= 200
    assert all(counts[level] >= 35 for level in ("basic", "intermediate", "advanced", "prompt-engineering"))
    assert counts["career"] >= 15


def test_shipped_bank_passes_the_strict_lint():
    """All rules, including no giveaways per level, no idea asked twice (with the shipped allow-list) and seed
    coverage."""
    from bot.lint import MAX_GIVEAWAY, giveaway_figures, lint, load_allowed, load_topics

    bank, _ = check_bank(REPO / "questions.yaml")
    topics = [load_topics(SEEDS)] if SEEDS.exists() else []
    if TOPICS_2026.exists() and "system-design" in bank.levels:
        topics.append(load_topics(TOPICS_2026))
    assert [str(p) for p in lint(bank, REPO / "questions.yaml", topics, load_allowed())] == []
    figures = giveaway_figures(bank)
    assert set(figures) >= OLD_LEVELS
    assert all(g.strike <= MAX_GIVEAWAY and g.longest <= MAX_GIVEAWAY for g in figures.values())


def test_good_bank_parses(mini_bank):
    bank, problems = parse_bank(bank_text())
    assert problems == [] and bank.questions[0].correct_text == "Frequent pairs"


@pytest.mark.parametrize(
    ("replace", "by", "line", "words"),
    [
        ("level: basic", "level: expert", 4, "not one of the declared levels"),
        ("correct: 1", "correct: 5", 9, "out of range"),
        ("correct: 1", "correct: yes", 9, "number of the right choice"),
        ('choices: ["Frequent pairs", "Rare pairs", "Whole sentences", "Nothing"]', "choices: [One]", 8,
         "needs 2 to 4"),
        ('choices: ["Frequent pairs", "Rare pairs", "Whole sentences", "Nothing"]',
         'choices: ["a", "b", "c", "d", "e"]', 8, "needs 2 to 4"),
        ('"Rare pairs"', '"' + "r" * 81 + '"', 8, "more than 80"),
        ('question: "What does BPE merge?"', 'question: "' + "q" * 301 + '"', 7, "more than 300"),
        ('answer: "BPE merges the most frequent pair of symbols."', 'answer: "' + "a" * 1501 + '"', 10,
         "more than 1500"),
        ("    topic: Tokenization\n", "", 3, "missing field 'topic'"),
        ("key_points: [most frequent pair, symbols, vocabulary]", "key_points: [one]", 11, "needs 3 to 6"),
        ("    covers: [dc-06]\n", "    covers: [dc-06]\n    cover: [dc-06]\n", 7, "unknown field 'cover'"),
        ("    topic: Tokenization\n", "    topic: Tokenization\n    topic: Again\n", 6, "appears twice"),
        ('answer: "BPE merges the most frequent pair of symbols."', "answer: ", 10, "is empty"),
    ],
)
def test_each_error_kind_is_reported_with_its_line(replace, by, line, words):
    broken = GOOD_QUESTION.replace(replace, by)
    assert broken != GOOD_QUESTION
    found = problems_of(bank_text(broken))
    assert any(words in message for _, message in found), found
    assert (line, next(m for _, m in found if words in m)) in found


def test_duplicate_id_names_both_lines():
    found = problems_of(bank_text(GOOD_QUESTION + GOOD_QUESTION))
    assert found == [(12, "question 'q1': duplicate id (first at line 3)")]


def test_every_problem_is_reported_not_just_the_first():
    broken = GOOD_QUESTION.replace("level: basic", "level: expert").replace("correct: 1", "correct: 9")
    second = GOOD_QUESTION.replace("id: q1", "id: q2").replace("    topic: Tokenization\n", "")
    found = problems_of(bank_text(broken + second))
    assert len(found) == 3


def test_yaml_reads_yes_as_text_in_text_fields():
    text = GOOD_QUESTION.replace('"Rare pairs"', "yes").replace('"Nothing"', "1e-4")
    bank, problems = parse_bank(bank_text(text))
    assert problems == [] and bank.questions[0].choices[1] == "yes" and bank.questions[0].choices[3] == "1e-4"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("levels: [basic]\nquestions: [\n", "YAML syntax error"),
        ("- just\n- a list\n", "must be a mapping"),
        ("levels: [basic]\n", "missing 'questions:'"),
        ("questions:\n" + GOOD_QUESTION, "missing 'levels:'"),
        ("levels: [basic, basic]\nquestions:\n" + GOOD_QUESTION, "declared twice"),
    ],
)
def test_broken_files(text, words):
    assert any(words in message for _, message in problems_of(text))


def test_unreadable_file(tmp_path):
    path = tmp_path / "bank.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    _, problems = check_bank(path)
    assert "cannot read" in problems[0].message
    _, problems = check_bank(tmp_path / "missing.yaml")
    assert problems[0].message == "file not found"


def test_big_bank_is_fast_enough(tmp_path):
    many = "".join(GOOD_QUESTION.replace("id: q1", f"id: q{i}") for i in range(2000))
    bank, problems = parse_bank(bank_text(many))
    assert problems == [] and len(bank.questions) == 2000
