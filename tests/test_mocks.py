"""Mock interviews in the engine: the ladder, the clock, the report, one at a time, stop, restarts, stats.

The clock is the fake one: time limits are passed by moving it, never by waiting.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot import outcomes as o
from bot.events import ChoiceMade, CommandInvoked, Kind, WrittenAnswer
from bot.mocks import LADDER, LENGTH, OPEN, tier_of
from bot.models import Bank, Question, RoundKind
from bot.store import Store
from tests.conftest import make_engine, member

pytestmark = pytest.mark.backends("sqlite", "postgresql")

TOPICS = {"basic": "Tokenization", "intermediate": "Embeddings", "advanced": "Attention",
          "system-design": "Serving at scale", "career": "Interview strategy"}


def _question(level: str, n: int, open_ended: bool) -> Question:
    topic = TOPICS[level] + ("" if n % 2 else " II")
    qid = f"{level[:3]}-{'open' if open_ended else 'mc'}-{n}"
    points = (f"{qid} point one", f"{qid} point two", f"{qid} point three")
    if open_ended:
        return Question(qid, level, topic, (), f"Explain {qid} in a few sentences.", (), 0,
                        f"The model answer of {qid}.", points)
    return Question(qid, level, topic, (), f"Which is right for {qid}?", ("alpha", "beta", "gamma", "delta"), 2,
                    f"The model answer of {qid}.", points)


def ladder_bank() -> Bank:
    questions = []
    for level in ("basic", "intermediate", "advanced"):
        questions += [_question(level, n, False) for n in range(1, 5)]
        questions += [_question(level, n, True) for n in range(1, 4)]
    questions += [_question("system-design", n, True) for n in range(1, 3)]
    questions += [_question("career", n, False) for n in range(1, 5)]
    return Bank(("basic", "intermediate", "advanced", "career", "system-design"), tuple(questions))


@pytest.fixture
def bank() -> Bank:
    return ladder_bank()


@pytest.fixture
def eng(store, bank, clock):
    return make_engine(store, bank, clock, reveal_after=3600)


def run(engine, who, place, text: str, admin: bool = False):
    return engine.handle(CommandInvoked(who, place, text, is_admin=admin))


def asked(out) -> list:
    return [m for m in out if isinstance(m.outcome, o.MockQuestion)]


def question_of(engine, message) -> Question:
    return message.outcome.question


def answer(engine, who, message, right: bool):
    """Answer a mock question right or wrong: a pick for multiple choice, words for open-ended."""
    q = question_of(engine, message)
    if q.is_open:
        text = "; ".join(q.key_points) if right else "no idea at all, sorry"
        return engine.handle(WrittenAnswer(who, text, round_id=message.round_id))
    pick = q.correct if right else (q.correct % len(q.choices)) + 1
    return engine.handle(ChoiceMade(who, pick, round_id=message.round_id))


def report_of(out) -> o.MockReport:
    [report] = [m.outcome for m in out if isinstance(m.outcome, o.MockReport)]
    return report


def test_a_mock_asks_five_questions_mixing_formats_steps_difficulty_and_reports(eng, place, clock, bank):
    ada = member("ada")
    out = run(eng, ada, place, "mock")
    [first] = asked(out)
    assert first.outcome.first and first.kind is Kind.PERSONAL and first.to == ada
    assert "Answer within 1 min" in first.text and "by 09:01:00 UTC" in first.text  # visible limit and deadline
    assert first.deadline is not None and first.choices  # a mock starts with multiple choice, in the middle
    assert question_of(eng, first).level == "intermediate"
    tiers, formats, rounds = [], [], []
    message, results = first, [True, True, False, False, True]
    for number, right in enumerate(results):
        q = question_of(eng, message)
        tiers.append(tier_of(q.level))
        formats.append(q.is_open)
        rounds.append(message.round_id)
        assert eng.store.round(message.round_id).kind is RoundKind.MOCK
        assert f"{number + 1}/{LENGTH}" in message.title
        clock.advance(seconds=20)
        out = answer(eng, ada, message, right)
        [said] = [m for m in out if isinstance(m.outcome, o.MockAnswered)]
        assert said.outcome.correct is right and not said.outcome.late and said.to == ada
        following = asked(out)
        if number < LENGTH - 1:
            assert len(following) == 1  # the next question comes right after the answer
            message = following[0]
        else:
            assert not following
    # right -> one step up, wrong -> one step down (basic < intermediate < advanced/system-design)
    assert tiers == [1, 2, 2, 1, 0]
    assert formats.count(True) == 2 and formats[0] is False  # two open-ended, never first
    report = report_of(out)
    assert report.score == 3 and len(report.items) == LENGTH and not report.stopped
    assert report.seconds == 100
    words = out[-1].text
    assert out[-1].title == "Mock interview report"
    assert "**Score:** 3/5 (60%) in 1 min 40 s" in words
    assert "**By topic:**" in words
    for item in report.items:
        if not item.scored:  # each miss: its key points and its model answer
            assert item.question.answer in words
            assert item.question.key_points[0] in words
    assert "**Study next:**" in words and 2 <= len(report.study_next) <= 3
    missed_topics = {i.question.topic for i in report.items if not i.scored}
    assert set(report.study_next[:len(missed_topics)]) == missed_topics  # the topics missed here come first
    row = eng.store.rows("SELECT status, ended_at FROM mocks")[0]
    assert row["status"] == "done" and row["ended_at"]
    # Counted in the member's stats and reviews, never on the leaderboard.
    [stats] = eng.handle(CommandInvoked(ada, place, "stats"))
    assert "3/5" in stats.text
    assert eng.store.standings(place.platform, place.workspace, None, 10) == []
    cards = eng.store.rows("SELECT question_id FROM cards WHERE user_id = ?", (ada.user_id,))
    assert {c["question_id"] for c in cards} == {eng.store.round(r).question_id for r in rounds}


def test_a_late_answer_is_graded_marked_late_and_scores_zero(eng, place, clock):
    ada = member("ada")
    [first] = asked(run(eng, ada, place, "mock"))
    clock.advance(seconds=61)  # the limit for multiple choice is 60 s
    out = answer(eng, ada, first, right=True)
    [said] = [m.outcome for m in out if isinstance(m.outcome, o.MockAnswered)]
    assert said.late and said.correct and said.seconds == 61 and said.limit == 60
    assert "Late: 1 min 1 s, over the 1 min limit" in out[0].text
    [item] = eng.store.rows("SELECT late, correct FROM mock_items WHERE answered_at IS NOT NULL")
    assert item["late"] == 1 and item["correct"] == 1
    [stored] = eng.store.answers(first.round_id)
    assert stored.correct  # graded as usual: stats and reviews see it
    # a late answer is not a right one for the ladder: the next question steps down
    assert question_of(eng, asked(out)[0]).level == "basic"
    out = run(eng, ada, place, "mock stop")
    report = report_of(out)
    assert report.score == 0 and report.items[0].late
    assert "Right, but after the time limit." in out[-1].text


def test_time_limits_come_from_setup(eng, place, clock):
    admin = member("boss")
    out = run(eng, admin, place, "setup mock_mc=30s mock_open=2m", admin=True)
    assert "30s multiple choice, 2m open-ended" in out[-1].text
    for bad in ("mock_mc=2s", "mock_open=3h", "mock_mc=soon"):
        [problem] = run(eng, admin, place, f"setup {bad}", admin=True)
        assert "mock_" in problem.text and "Saved" not in problem.text
    ada = member("ada")
    message = asked(run(eng, ada, place, "mock"))[0]
    for _ in range(LENGTH):
        q = question_of(eng, message)
        assert message.outcome.limit == (120 if q.is_open else 30)
        assert message.deadline == clock.now + timedelta(seconds=message.outcome.limit)
        out = answer(eng, ada, message, right=True)
        if not asked(out):
            break
        message = asked(out)[0]


def test_one_mock_at_a_time_a_second_one_says_where_you_are(eng, place, clock):
    ada = member("ada")
    [first] = asked(run(eng, ada, place, "mock"))
    clock.advance(seconds=5)
    out = answer(eng, ada, first, right=True)
    second = asked(out)[0]
    again = run(eng, ada, place, "mock advanced")
    [where] = [m for m in again if isinstance(m.outcome, o.MockAlreadyOpen)]
    assert "question 2 of 5" in where.text and "/quiz mock stop" in where.text
    [shown] = asked(again)
    assert shown.round_id == second.round_id and shown.outcome.again  # the same question, shown again
    assert "still open" in shown.text
    assert eng.store.rows("SELECT COUNT(*) AS n FROM mocks")[0]["n"] == 1
    # another member has their own
    assert asked(run(eng, member("bob"), place, "mock"))


def test_a_mock_stopped_midway_gives_a_partial_report(eng, place, clock):
    ada = member("ada")
    message = asked(run(eng, ada, place, "mock"))[0]
    for right in (True, False):
        clock.advance(seconds=10)
        message = asked(answer(eng, ada, message, right))[0]
    clock.advance(seconds=10)
    out = run(eng, ada, place, "mock stop")
    report = report_of(out)
    assert report.stopped and report.total == LENGTH
    assert [i.answered for i in report.items] == [True, True, False]
    assert report.score == 1
    assert out[-1].title == "Mock interview report (stopped after 3 of 5)"
    assert "not answered" in out[-1].text
    # the open question is closed: a later answer to it counts for nothing
    late = answer(eng, ada, message, right=True)
    assert [m.outcome for m in late] == [o.AlreadyAnswered()]
    assert [m.outcome for m in run(eng, ada, place, "mock stop")] == [o.NoMockOpen()]
    assert asked(run(eng, ada, place, "mock"))  # a new one can start


def test_a_mock_goes_on_across_a_restart(store, bank, clock, place, database):
    ada = member("ada")
    first = make_engine(store, bank, clock, reveal_after=3600)
    message = asked(run(first, ada, place, "mock"))[0]
    clock.advance(seconds=10)
    message = asked(answer(first, ada, message, True))[0]
    store.close()

    again = Store.open(database)
    try:
        second = make_engine(again, bank, clock, reveal_after=3600)  # a new engine on the same database
        [where, shown] = run(second, ada, place, "mock")
        assert isinstance(where.outcome, o.MockAlreadyOpen) and shown.round_id == message.round_id
        for right in (True, True, True, True):
            clock.advance(seconds=10)
            out = answer(second, ada, message, right)
            following = asked(out)
            if not following:
                break
            message = following[0]
        report = report_of(out)
        assert len(report.items) == LENGTH and report.score == 5
    finally:
        again.close()


def test_console_answers_without_a_round_id_reach_the_mock_question(eng, place, clock):
    ada = member("ada")
    [first] = asked(run(eng, ada, place, "mock"))
    assert eng.rounds.current_round(ada, place) == first.round_id


def test_a_mock_of_a_track_level_stays_on_it_and_of_a_ladder_level_starts_there(eng, place, clock):
    ada = member("ada")
    message = asked(run(eng, ada, place, "mock career"))[0]
    levels = []
    for _ in range(LENGTH):
        levels.append(question_of(eng, message).level)
        out = answer(eng, ada, message, right=True)
        if not asked(out):
            break
        message = asked(out)[0]
    assert set(levels) == {"career"} and len(levels) == 4  # the track runs out of questions: the report comes early
    assert report_of(out).total == LENGTH
    bob = member("bob")
    assert question_of(eng, asked(run(eng, bob, place, "mock advanced"))[0]).level == "advanced"


def test_bad_mock_commands(eng, place):
    ada = member("ada")
    for text in ("mock expert", "mock stop now", "mock advanced basic"):
        [problem] = run(eng, ada, place, text)
        assert "`/quiz mock [level]`" in problem.text and "Valid levels" in problem.text
    assert [m.outcome for m in run(eng, ada, place, "mock stop")] == [o.NoMockOpen()]


def test_broken_questions_are_never_drawn_by_a_mock(eng, place, clock, bank):
    admin = member("boss")
    keep = {"int-mc-1"}
    for q in bank.questions:
        if q.level == "intermediate" and q.id not in keep:
            run(eng, admin, place, f"broken {q.id}", admin=True)
    seen = []
    for name in ("a", "b", "c"):
        message = asked(run(eng, member(name), place, "mock"))[0]
        seen.append(question_of(eng, message).id)
        run(eng, member(name), place, "mock stop")
    assert set(seen) == keep


def test_the_ladder_and_plan_constants():
    assert LADDER["system-design"] == LADDER["advanced"] > LADDER["intermediate"] > LADDER["basic"]
    assert tier_of("career") == LADDER["intermediate"]
    assert OPEN == "open"


def test_plan_is_stored_and_mock_items_keep_timestamps(eng, place, clock):
    ada = member("ada")
    [first] = asked(run(eng, ada, place, "mock"))
    [mock] = eng.store.rows("SELECT * FROM mocks")
    assert mock["status"] == "open" and len(json.loads(mock["plan"])) == LENGTH
    clock.advance(seconds=7)
    answer(eng, ada, first, right=False)
    items = eng.store.mock_items(mock["id"])
    assert items[0]["answered_at"] > items[0]["asked_at"] and items[0]["correct"] == 0
    assert items[1]["answered_at"] is None and items[1]["asked_at"] == items[0]["answered_at"]


def test_the_migration_keeps_rounds_answers_and_ids(empty_database, clock):
    """Version 7 widens rounds.kind: on a database with data, every row, index and reference survives."""
    from bot import migrations
    from bot.db import connect

    db = connect(empty_database)
    try:
        if db.backend == "sqlite":
            db.execute("PRAGMA foreign_keys=ON")  # as Store.open has it while migrating
        migrations.apply(db, stop_before=7)
        for n in range(3):
            db.execute("""INSERT INTO rounds (platform, workspace, channel, kind, question_id, level, timezone,
                          posted_at) VALUES ('console', 'local', 'c', 'personal', ?, 'basic', 'UTC', '2026-01-01')""",
                       (f"q{n}",))
        ids = [r["id"] for r in db.rows("SELECT id FROM rounds ORDER BY id")]
        db.execute("""INSERT INTO answers (round_id, platform, workspace, user_id, name, choice, answered_at)
                      VALUES (?, 'console', 'local', 'u', 'U', 1, '2026-01-01')""", (ids[0],))
        db.execute("DELETE FROM rounds WHERE id = ?", (ids[-1],))  # the highest id is never handed out again
        assert migrations.apply(db) == [m.version for m in migrations.MIGRATIONS if m.version >= 7]
        assert [r["id"] for r in db.rows("SELECT id FROM rounds ORDER BY id")] == ids[:2]
        new = db.row("""INSERT INTO rounds (platform, workspace, channel, kind, question_id, level, timezone,
                        posted_at) VALUES ('console', 'local', 'c', 'mock', 'q9', 'basic', 'UTC', '2026-01-02')
                        RETURNING id""")["id"]
        assert new > ids[-1]
        with pytest.raises(db.IntegrityError):
            db.execute("""INSERT INTO rounds (platform, workspace, channel, kind, question_id, level, timezone,
                          posted_at) VALUES ('console', 'local', 'c', 'bogus', 'q9', 'basic', 'UTC', '2026-01-02')""")
        with pytest.raises(db.IntegrityError):  # answers still reference rounds
            db.execute("""INSERT INTO answers (round_id, platform, workspace, user_id, name, answered_at)
                          VALUES (999999, 'console', 'local', 'u', 'U', '2026-01-01')""")
        if db.backend == "sqlite":
            names = {r["name"] for r in db.rows("SELECT name FROM sqlite_master WHERE type = 'index' "
                                                "AND tbl_name = 'rounds'")}
            assert {"rounds_one_daily", "rounds_open", "rounds_message", "rounds_thread"} <= names
            assert db.rows("PRAGMA foreign_key_check") == []
        assert db.row("SELECT COUNT(*) AS n FROM answers")["n"] == 1
    finally:
        db.close()


class SlowJudge:
    """An async grader (the model judge's seam) that takes `seconds` of the fake clock to answer."""

    def __init__(self, clock, seconds: float) -> None:
        self.clock, self.seconds, self.asked = clock, seconds, 0

    async def grade_many(self, items):
        from bot.grading import grade_question
        self.asked += len(items)
        self.clock.advance(seconds=self.seconds)
        return [grade_question(text, q) for text, q in items]


async def test_an_open_answer_in_time_is_not_late_because_the_judge_took_a_while(eng, place, clock):
    """The time limit is checked against when the answer came, not when the judge had graded it; the next
    question is asked when it is sent."""
    ada = member("ada")
    eng.rounds.grader = judge = SlowJudge(clock, seconds=30)
    out = run(eng, ada, place, "mock")
    while not question_of(eng, asked(out)[0]).is_open:  # on to the first open-ended question
        out = answer(eng, ada, asked(out)[0], right=True)
    current = asked(out)[0]
    limit = eng.settings_for(place.platform, place.workspace).mock_open
    clock.advance(seconds=limit - 10)  # 10 s before the limit; the judge answers 20 s after it
    q = question_of(eng, current)
    out = await eng.handle_async(WrittenAnswer(ada, "; ".join(q.key_points), round_id=current.round_id))
    [said] = [m.outcome for m in out if isinstance(m.outcome, o.MockAnswered)]
    assert judge.asked == 1 and not said.late and said.seconds == limit - 10
    [nxt] = asked(out)
    [item] = eng.store.rows("SELECT asked_at FROM mock_items WHERE round_id = ?", (nxt.round_id,))
    assert item["asked_at"].startswith(clock().isoformat()[:19])  # asked now, after the judge's 30 s
