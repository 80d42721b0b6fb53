"""/quiz topic, /quiz export and /quiz broken in the engine (the platforms' parts are in their own tests)."""

from __future__ import annotations

import sqlite3
import zipfile

import pytest

from bot import outcomes as o
from bot.events import ChoiceMade, CommandInvoked, Kind
from bot.models import RoundKind
from bot.texts import help_text
from bot.topics import closest, match
from tests.conftest import member

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def run(engine, who, place, text: str, admin: bool = False):
    return engine.handle(CommandInvoked(who, place, text, is_admin=admin))


# ---- /quiz topic ---------------------------------------------------------------------------------------


def test_topic_asks_a_personal_question_on_that_topic(engine, place):
    ada = member("ada")
    for typed, topic in (("Tokenization", "Tokenization"), ("tokenisation", "Tokenization"),
                         ("rlhf", "RLHF and alignment"), ("drift", "Drift and monitoring"),
                         ("retrieval and knowlege", "Retrieval and knowledge")):
        [asked] = run(engine, ada, place, f"topic {typed}")
        assert asked.kind is Kind.PERSONAL and asked.to == ada, typed
        assert isinstance(asked.outcome, o.QuestionAsked) and asked.outcome.question.topic == topic, typed
        assert engine.store.round(asked.round_id).kind is RoundKind.PERSONAL
        engine.handle(ChoiceMade(ada, 1, round_id=asked.round_id))


def test_an_unknown_topic_gets_the_closest_ones(engine, place):
    [said] = run(engine, member("ada"), place, "topic embeddingz and vectors")
    assert isinstance(said.outcome, o.TopicUnknown) and said.to is not None
    assert "Embeddings" in said.outcome.suggestions and "Closest: `Embeddings`" in said.text
    [said] = run(engine, member("ada"), place, "topic zzzz qqqq")
    assert said.outcome == o.TopicUnknown("zzzz qqqq", ()) and said.text == "No topic matches “zzzz qqqq”."
    [said] = run(engine, member("ada"), place, "topic")
    assert isinstance(said.outcome, o.TopicUsage) and "/quiz topic" in said.text
    assert not engine.store.rows("SELECT id FROM rounds")


def test_topic_matching_rules():
    names = ["Model Context Protocol (MCP)", "Advanced retrieval", "Retrieval and knowledge", "Tokenization"]
    assert match("mcp", names).name == "Model Context Protocol (MCP)"
    assert match("TOKENIZATION", names).name == "Tokenization"
    ambiguous = match("retrieval", names)
    assert ambiguous.name is None
    assert set(ambiguous.suggestions[:2]) == {"Advanced retrieval", "Retrieval and knowledge"}
    assert closest("ret", names)[:2] == ["Retrieval and knowledge", "Advanced retrieval"]
    assert closest("", names) == names


# ---- /quiz export ---------------------------------------------------------------------------------------


def test_export_with_no_misses_says_so_and_sends_no_file(engine, place):
    ada = member("ada")
    [said] = run(engine, ada, place, "export")
    assert said.outcome == o.ExportEmpty() and said.file is None and said.to == ada
    assert "no missed questions" in said.text
    [asked] = run(engine, ada, place, "topic Tokenization")
    engine.handle(ChoiceMade(ada, 1, round_id=asked.round_id))  # b1's right answer
    [said] = run(engine, ada, place, "export")
    assert said.outcome == o.ExportEmpty() and said.file is None
    [problem] = run(engine, ada, place, "export now")
    assert "takes nothing more" in problem.text


def test_export_sends_the_members_misses_as_a_deck(engine, place, tmp_path):
    ada, bob = member("ada"), member("bob")
    for who, topic, pick in ((ada, "Tokenization", 2), (ada, "Embeddings", 3), (ada, "Context window", 2),
                             (bob, "Attention" if False else "RLHF", 1)):
        [asked] = run(engine, who, place, f"topic {topic}")
        engine.handle(ChoiceMade(who, pick, round_id=asked.round_id))
    [said] = run(engine, ada, place, "export")
    assert isinstance(said.outcome, o.ExportReady) and said.outcome.count == 2  # b3 was answered right
    assert said.to == ada and said.file is not None and said.file.suffix == ".apkg"
    assert said.file.parent == engine.settings.db_path.resolve().parent  # next to the database
    assert "2 missed questions as an Anki deck" in said.text
    with zipfile.ZipFile(said.file) as deck:
        deck.extract("collection.anki2", tmp_path)
    conn = sqlite3.connect(tmp_path / "collection.anki2")
    fields = [row[0] for row in conn.execute("SELECT flds FROM notes")]
    conn.close()
    assert len(fields) == 2 and any("b1" in f for f in fields) and any("b2" in f for f in fields)
    # a question marked broken is left out of the deck
    run(engine, member("boss"), place, "broken b1", admin=True)
    [said] = run(engine, ada, place, "export")
    assert said.outcome.count == 1


# ---- /quiz broken ------------------------------------------------------------------------------------------


def test_broken_is_for_admins_and_marks_lists_and_unmarks(engine, place):
    ada, boss = member("ada"), member("boss")
    [refused] = run(engine, ada, place, "broken b1")
    assert isinstance(refused.outcome, o.AdminOnly)
    [said] = run(engine, boss, place, "broken b1 the key is wrong", admin=True)
    assert said.outcome == o.QuestionMarked("b1", True, "the key is wrong")
    [listed] = run(engine, boss, place, "broken", admin=True)
    assert listed.outcome == o.BrokenListed((("b1", "the key is wrong"),))
    assert "`b1`: the key is wrong" in listed.text
    [said] = run(engine, boss, place, "broken B1 off", admin=True)
    assert said.outcome == o.QuestionMarked("b1", False)
    assert run(engine, boss, place, "broken", admin=True)[0].outcome == o.BrokenListed(())
    [unknown] = run(engine, boss, place, "broken bb1", admin=True)
    assert isinstance(unknown.outcome, o.UnknownQuestion) and "b1" in unknown.outcome.suggestions


def test_a_broken_question_is_never_picked(engine, place, clock):
    boss, ada = member("boss"), member("ada")
    for qid in ("b1", "b2", "a1", "a2"):
        run(engine, boss, place, f"broken {qid}", admin=True)
    for _ in range(12):  # channel rounds, the daily round, personal questions by level and by topic
        [post, _note] = run(engine, boss, place, "post basic", admin=True)
        assert post.outcome.question.id == "b3"
        engine.rounds.reveal(post.round_id)
        [mine] = run(engine, ada, place, "advanced")
        assert mine.outcome.question.id == "a3"
        engine.handle(ChoiceMade(ada, 1, round_id=mine.round_id))
        clock.advance(days=1)
        for out in engine.rounds.daily_round(place.platform, place.workspace):
            assert out.outcome.question.id in ("b3", "a3")
            engine.rounds.reveal(out.round_id)
    [none] = run(engine, ada, place, "topic Tokenization")
    assert none.outcome == o.NoQuestionLeft("the topic Tokenization")
    run(engine, boss, place, "broken b2 off", admin=True)
    [again] = run(engine, ada, place, "topic Embeddings")
    assert again.outcome.question.id == "b2"


def test_a_broken_question_leaves_the_review_queue(engine, place, clock):
    ada, boss = member("ada"), member("boss")
    [asked] = run(engine, ada, place, "topic Tokenization")
    engine.handle(ChoiceMade(ada, 2, round_id=asked.round_id))  # wrong: due again soon
    clock.advance(days=3)
    assert engine.study.due(ada, place) == ["b1"]
    run(engine, boss, place, "broken b1", admin=True)
    assert engine.study.due(ada, place) == []


def test_every_question_broken_posts_nothing_and_says_why(engine, place):
    boss = member("boss")
    for qid in ("b1", "b2", "b3"):
        run(engine, boss, place, f"broken {qid}", admin=True)
    [said] = run(engine, boss, place, "post basic", admin=True)
    assert said.outcome == o.NoQuestionLeft("that level")
    assert not engine.store.open_channel_rounds()


def test_help_lists_the_new_commands():
    text = help_text(("basic", "advanced"), "console")
    for command in ("/quiz mock [level]", "/quiz mock stop", "/quiz topic <topic>", "/quiz export",
                    "/quiz broken <question id> [off]", "mock_mc" if False else "mock time limits"):
        assert command in text, command


def test_studybot_items_shows_broken_questions(engine, place, backend):
    if backend != "sqlite":
        pytest.skip("studybot items reads a SQLite file")
    from bot.items import BROKEN, analyse_file, format_table

    ada, boss = member("ada"), member("boss")
    [asked] = run(engine, ada, place, "topic Tokenization")
    engine.handle(ChoiceMade(ada, 1, round_id=asked.round_id))
    run(engine, boss, place, "broken b1 two right answers", admin=True)
    run(engine, boss, place, "broken a3", admin=True)  # never answered: listed all the same
    items = {i.question_id: i for i in analyse_file(engine.settings.db_path, engine.bank)}
    assert items["b1"].flagged(BROKEN) and items["b1"].broken == "two right answers" and items["b1"].answers == 1
    assert items["a3"].flagged(BROKEN) and items["a3"].answers == 0
    table = format_table(list(items.values()))
    assert table.startswith("1 question answered with a choice, 2 flagged.")
    assert "marked broken: two right answers" in table
