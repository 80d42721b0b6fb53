"""Study features on Slack: /quiz mock (ephemeral questions, buttons, the modal, the clock, restarts),
/quiz topic (fuzzy), /quiz export (a deck in a direct message; files:write missing), /quiz broken."""

from __future__ import annotations

import sqlite3
import zipfile

import slack_payloads as payloads
from slack_fake import TEAM
from slack_rig import CHANNEL, Clock, bank, block_text, start_bot

from bot.models import Place

PLACE = Place("slack", TEAM, CHANNEL)


def _actions(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _mock_round(bot, user: str = "U0ADA"):
    rnd = bot.store.open_personal_round(PLACE, user)
    assert rnd is not None and rnd.kind == "mock"
    return rnd


async def _answer(bot, fake, rnd, key: str, right: bool, user: str = "U0ADA") -> list[dict]:
    """Answer a mock question through its button (multiple choice) or the modal (open-ended)."""
    question = bank().get(rnd.question_id)
    if question.is_open:
        await bot.interact(payloads.block_action(user, f"studybot:write:{rnd.id}", CHANNEL, "1.2",
                                                 fake.response_url(key)))
        text = "\n".join(question.key_points) if right else "I do not know."
        await bot.interact(payloads.view_submission(user, rnd.id, text, fake.response_url(key), CHANNEL))
    else:
        pick = question.correct if right else question.correct % len(question.choices) + 1
        await bot.interact(payloads.block_action(user, f"studybot:pick:{rnd.id}:{pick}", CHANNEL, "1.2",
                                                 fake.response_url(key)))
    return fake.responses_to(key)


async def test_a_mock_runs_privately_with_buttons_and_the_modal_and_ends_with_a_report(bot, fake):
    _reply, key = await bot.command("mock")
    [first] = fake.responses_to(key)
    assert first["response_type"] == "ephemeral"
    rnd = _mock_round(bot)
    text = block_text(first["blocks"])
    assert "Mock interview · 1/5" in first["blocks"][0]["text"]["text"]
    assert "Answer within 1 min" in text and "UTC" in text  # the limit and the deadline, visible
    question = bank().get(rnd.question_id)
    assert _actions(first["blocks"]) == [f"studybot:pick:{rnd.id}:{n}" for n in range(1, len(question.choices) + 1)] \
        + [f"studybot:write:{rnd.id}"]
    opened = 0
    for number in range(5):
        bot.clock.advance(15)
        said = await _answer(bot, fake, rnd, f"a{number}", right=True)
        opened += bank().get(rnd.question_id).is_open
        assert "Right" in said[0]["text"]  # the answer's word, then at once the next question (or the report)
        if number < 4:
            rnd = _mock_round(bot)
            assert f"Mock interview · {number + 2}/5" in said[1]["blocks"][0]["text"]["text"]
    assert opened == 2 and len(fake.to("views.open")) == 2  # the two open-ended ones went through the modal
    report = block_text(said[-1]["blocks"])
    assert "Mock interview report" in said[-1]["blocks"][0]["text"]["text"]
    assert "*Score:* 5/5 (100%)" in report and "*By topic:*" in report
    assert not fake.to("chat.postMessage")  # all of it private
    assert bot.store.standings("slack", TEAM, None, 10) == []  # never on the leaderboard


async def test_a_late_click_is_marked_late_and_a_second_mock_shows_where_you_are(bot, fake):
    await bot.command("mock")
    rnd = _mock_round(bot)
    bot.clock.advance(61)  # past the 60 s limit of multiple choice: no waiting, the engine's clock moves
    said = await _answer(bot, fake, rnd, "late", right=True)
    assert "Late" in said[0]["text"] and "scores 0" in said[0]["text"]
    _reply, key = await bot.command("mock advanced")
    where, again = fake.responses_to(key)
    assert "already have a mock interview open" in where["text"] and "question 2 of 5" in where["text"]
    assert _mock_round(bot).id == int(_actions(again["blocks"])[-1].rsplit(":", 1)[1])
    _reply, key = await bot.command("mock stop")
    [report] = fake.responses_to(key)
    text = block_text(report["blocks"])
    assert "stopped after 2 of 5" in report["blocks"][0]["text"]["text"]
    assert "Right, but after the time limit." in text and "not answered" in text
    assert bot.store.open_personal_round(PLACE, "U0ADA") is None


async def test_a_mock_goes_on_after_a_restart(tmp_path, fake):
    clock = Clock()
    first = await start_bot(tmp_path, fake, clock=clock)
    try:
        await first.command("mock")
        rnd = _mock_round(first)
        clock.advance(10)
        await _answer(first, fake, rnd, "before", right=False)
        rnd = _mock_round(first)
    finally:
        await first.close()
    second = await start_bot(tmp_path, fake, clock=clock)
    try:
        clock.advance(10)
        said = await _answer(second, fake, rnd, "after", right=True)
        assert "Right" in said[0]["text"] and "Mock interview · 3/5" in said[1]["blocks"][0]["text"]["text"]
    finally:
        await second.close()


async def test_topic_on_slack_matches_loosely_and_suggests_when_unknown(bot, fake):
    _reply, key = await bot.command("topic tokenisation")
    [asked] = fake.responses_to(key)
    rnd = bot.store.open_personal_round(PLACE, "U0ADA")
    assert rnd.kind == "personal" and bank().get(rnd.question_id).topic == "Tokenization"
    assert "Tokenization" in asked["blocks"][0]["text"]["text"]
    _reply, key = await bot.command("topic retrieval")
    [said] = fake.responses_to(key)
    assert "No topic matches" in said["text"] and "Advanced retrieval" in said["text"]
    assert "Retrieval and knowledge" in said["text"]


async def _miss_one(bot, fake) -> str:
    await bot.command("topic Tokenization")
    rnd = bot.store.open_personal_round(PLACE, "U0ADA")
    question = bank().get(rnd.question_id)
    if question.is_open:  # a miss in words, through the modal
        await bot.interact(payloads.view_submission("U0ADA", rnd.id, "no idea", fake.response_url("miss"), CHANNEL))
    else:
        wrong = question.correct % len(question.choices) + 1
        await bot.interact(payloads.block_action("U0ADA", f"studybot:pick:{rnd.id}:{wrong}", CHANNEL, "1.2",
                                                 fake.response_url("miss")))
    return question.id


async def test_export_sends_a_deck_to_a_direct_message(bot, fake, tmp_path):
    _reply, key = await bot.command("export")
    [said] = fake.responses_to(key)
    assert "no missed questions" in said["text"] and not fake.uploads  # nothing to send, no file

    missed = await _miss_one(bot, fake)
    _reply, key = await bot.command("export")
    [upload] = fake.uploads.values()
    assert upload["channel"] == "D0ADA" and upload["filename"].endswith(".apkg")  # the member's direct messages
    assert "1 missed question as an Anki deck" in upload["initial_comment"]
    assert upload["length"] == len(upload["data"])
    [note] = fake.responses_to(key)
    assert note["response_type"] == "ephemeral" and "in a direct message" in note["text"]
    (tmp_path / "deck.apkg").write_bytes(upload["data"])
    with zipfile.ZipFile(tmp_path / "deck.apkg") as deck:
        deck.extract("collection.anki2", tmp_path)
    conn = sqlite3.connect(tmp_path / "collection.anki2")
    [fields] = [row[0] for row in conn.execute("SELECT flds FROM notes")]
    conn.close()
    assert missed in fields


async def test_export_without_files_write_says_so_politely(bot, fake):
    fake.missing_scopes.add("files:write")
    await _miss_one(bot, fake)
    _reply, key = await bot.command("export")
    [said] = fake.responses_to(key)
    assert said["response_type"] == "ephemeral"
    assert "Sorry" in said["text"] and "files:write" in said["text"] and "reinstall" in said["text"]
    assert [c.error for c in fake.attempts("files.getUploadURLExternal")] == ["missing_scope"]
    # the workspace's admins hear how to fix it at their next command
    _reply, key = await bot.command("help", user="U0DANA")
    assert any("files:write" in r["text"] and "slack-manifest.yaml" in r["text"] for r in fake.responses_to(key))


async def test_broken_on_slack_is_for_admins_and_skips_the_question(bot, fake):
    _reply, key = await bot.command("broken basic-what-is-a-token")
    assert "is for admins" in fake.responses_to(key)[0]["text"]
    tokenization = [q.id for q in bank().questions if q.topic == "Tokenization"]
    for qid in tokenization[1:]:
        await bot.command(f"broken {qid} wrong key", user="U0DANA")
    assert set(bot.store.broken_questions()) == set(tokenization[1:])
    for user in ("U0ADA", "U0BRIAN", "U0CHEN"):
        await bot.command("topic tokenization", user=user)
        assert bot.store.open_personal_round(PLACE, user).question_id == tokenization[0]
    _reply, key = await bot.command("broken", user="U0DANA")
    assert all(qid in fake.responses_to(key)[0]["text"] for qid in tokenization[1:])
