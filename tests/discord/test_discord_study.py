"""Study features on Discord: /quiz mock (ephemeral follow-ups, answer buttons and the form, the clock, restarts),
/quiz topic with its autocomplete, /quiz export (an ephemeral follow-up with the .apkg), /quiz broken."""

from __future__ import annotations

from discord_rig import CHANNEL, GUILD, custom_ids_of, text_of

from bot.models import Place

PLACE = Place("discord", GUILD, CHANNEL)
MOCK = [{"name": "mock", "type": 1, "options": []}]
ADA = ("1300000000000000001", "Ada")


def _mock_round(bot, user_id: str):
    rnd = bot.store.open_personal_round(PLACE, user_id)
    assert rnd is not None and rnd.kind == "mock"
    return rnd


async def _answer(bot, standin, message: dict, rnd, right: bool, who: dict, replies: int = 2) -> list[dict]:
    """Answer through the question's buttons: a pick, or the form for an open-ended question."""
    question = bot.engine.bank.get(rnd.question_id)
    if question.is_open:
        click = await standin.click(message, f"studybot:write:{rnd.id}", user=who, channel_id=CHANNEL)
        [form] = await standin.wait_replies(click)
        text = "; ".join(question.key_points) if right else "I would not know."
        token = await standin.submit_form(form["custom_id"], text, CHANNEL, who)
    else:
        pick = question.correct if right else question.correct % len(question.choices) + 1
        token = await standin.click(message, f"studybot:pick:{rnd.id}:{pick}", user=who, channel_id=CHANNEL)
    return await standin.wait_replies(token, replies)


async def test_a_mock_runs_in_ephemeral_messages_with_buttons_and_the_form(bot, discord_standin):
    ada = discord_standin.member(*ADA)
    token = await discord_standin.slash(MOCK, CHANNEL, ada)
    [message] = await discord_standin.wait_replies(token)
    assert message["flags"] & 64
    assert message["embeds"][0]["title"].startswith("Mock interview · 1/5 · ")
    assert "Answer within 1 min" in text_of(message)
    rnd = _mock_round(bot, ADA[0])
    question = bot.engine.bank.get(rnd.question_id)
    assert custom_ids_of(message) == [f"studybot:pick:{rnd.id}:{n}" for n in range(1, len(question.choices) + 1)] \
        + [f"studybot:write:{rnd.id}"]
    forms = 0
    for number in range(5):
        bot.clock.advance(seconds=20)
        forms += bot.engine.bank.get(rnd.question_id).is_open
        replies = await _answer(bot, discord_standin, message, rnd, right=number != 1, who=ada)
        assert all(r["flags"] & 64 for r in replies)
        said, message = replies[0], replies[1]
        assert ("Right" if number != 1 else "Not this time") in text_of(said)
        if number < 4:
            rnd = _mock_round(bot, ADA[0])
            assert message["embeds"][0]["title"].startswith(f"Mock interview · {number + 2}/5")
    assert forms == 2
    report = text_of(message)
    assert message["embeds"][0]["title"] == "Mock interview report"
    assert "**Score:** 4/5 (80%)" in report and "**What to look at again:**" in report and "Model answer:" in report
    assert not discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")  # nothing in the channel
    assert bot.store.standings("discord", GUILD, None, 10) == []


async def test_late_answer_second_mock_and_stop_on_discord(bot, discord_standin):
    ada = discord_standin.member(*ADA)
    [message] = await discord_standin.wait_replies(await discord_standin.slash(MOCK, CHANNEL, ada))
    rnd = _mock_round(bot, ADA[0])
    bot.clock.advance(seconds=75)
    said, _next = await _answer(bot, discord_standin, message, rnd, right=True, who=ada)
    assert "Late: 1 min 15 s, over the 1 min limit" in text_of(said)
    token = await discord_standin.slash(
        [{"name": "mock", "type": 1, "options": [{"name": "level", "type": 3, "value": "advanced"}]}], CHANNEL, ada)
    where, again = await discord_standin.wait_replies(token, 2)
    assert "question 2 of 5" in text_of(where) and "still open" in text_of(again)
    assert custom_ids_of(again)[-1] == f"studybot:write:{_mock_round(bot, ADA[0]).id}"
    token = await discord_standin.slash(
        [{"name": "mock", "type": 1, "options": [{"name": "stop", "type": 5, "value": True}]}], CHANNEL, ada)
    [report] = await discord_standin.wait_replies(token)
    assert report["embeds"][0]["title"] == "Mock interview report (stopped after 2 of 5)"
    assert "Right, but after the time limit." in text_of(report)


async def test_a_mock_goes_on_after_a_restart_on_discord(start_bot, discord_standin):
    ada = discord_standin.member(*ADA)
    first = await start_bot()
    [message] = await discord_standin.wait_replies(await discord_standin.slash(MOCK, CHANNEL, ada))
    rnd = _mock_round(first, ADA[0])
    await first.stop()
    second = await start_bot()  # a new client and engine, the same database: the old buttons still work
    second.clock.advance(seconds=5)
    said, following = await _answer(second, discord_standin, message, rnd, right=True, who=ada)
    assert "Right" in text_of(said) and following["embeds"][0]["title"].startswith("Mock interview · 2/5")


async def test_topic_autocomplete_offers_the_banks_topics(bot, discord_standin):
    ada = discord_standin.member(*ADA)
    typing = [{"name": "topic", "type": 1,
               "options": [{"name": "topic", "type": 3, "value": "tokeni", "focused": True}]}]
    [offered] = await discord_standin.wait_replies(await discord_standin.autocomplete(typing, CHANNEL, ada))
    assert offered["callback_type"] == 8
    names = [c["value"] for c in offered["choices"]]
    assert names[0] == "Tokenization" and len(names) <= 25
    chosen = [{"name": "topic", "type": 1, "options": [{"name": "topic", "type": 3, "value": "Tokenization"}]}]
    [asked] = await discord_standin.wait_replies(await discord_standin.slash(chosen, CHANNEL, ada))
    assert asked["flags"] & 64 and "Tokenization" in asked["embeds"][0]["title"]
    rnd = bot.store.open_personal_round(PLACE, ADA[0])
    assert rnd.kind == "personal" and bot.engine.bank.get(rnd.question_id).topic == "Tokenization"
    typed = [{"name": "topic", "type": 1, "options": [{"name": "topic", "type": 3, "value": "embedingz stuff"}]}]
    [said] = await discord_standin.wait_replies(await discord_standin.slash(typed, CHANNEL, ada))
    assert "No topic matches" in text_of(said) and "`Embeddings`" in text_of(said)


async def test_export_attaches_the_deck_to_an_ephemeral_message(bot, discord_standin):
    ada = discord_standin.member(*ADA)
    export = [{"name": "export", "type": 1, "options": []}]
    token = await discord_standin.slash(export, CHANNEL, ada)
    [said] = await discord_standin.wait_replies(token)
    assert "no missed questions" in text_of(said)
    assert not any(c.files for c in discord_standin.find("POST", rf"/webhooks/\d+/{token}"))

    chosen = [{"name": "topic", "type": 1, "options": [{"name": "topic", "type": 3, "value": "Tokenization"}]}]
    [asked] = await discord_standin.wait_replies(await discord_standin.slash(chosen, CHANNEL, ada))
    rnd = bot.store.open_personal_round(PLACE, ADA[0])
    await _answer(bot, discord_standin, asked, rnd, right=False, who=ada, replies=1)  # a miss
    token = await discord_standin.slash(export, CHANNEL, ada)
    [said] = await discord_standin.wait_replies(token)
    assert said["flags"] & 64 and "1 missed question as an Anki deck" in text_of(said)
    [call] = [c for c in discord_standin.find("POST", rf"/webhooks/\d+/{token}") if c.files]
    assert call.files == [f"studybot-missed-discord-{ADA[0]}.apkg"]


async def test_broken_with_its_autocomplete_and_setup_of_the_mock_limits(bot, discord_standin):
    boss = discord_standin.member("1300000000000000009", "Boss", admin=True)
    qid = bot.engine.bank.questions[0].id
    typing = [{"name": "broken", "type": 1, "options": [{"name": "question", "type": 3, "value": qid[:6],
                                                          "focused": True}]}]
    [offered] = await discord_standin.wait_replies(await discord_standin.autocomplete(typing, CHANNEL, boss))
    assert qid in [c["value"] for c in offered["choices"]]
    mark = [{"name": "broken", "type": 1, "options": [{"name": "question", "type": 3, "value": qid},
                                                      {"name": "reason", "type": 3, "value": "two right answers"}]}]
    [said] = await discord_standin.wait_replies(await discord_standin.slash(mark, CHANNEL, boss))
    assert f"Marked `{qid}` broken (two right answers)" in text_of(said)
    assert bot.store.broken_questions()[qid]["reason"] == "two right answers"
    ada = discord_standin.member(*ADA)
    [refused] = await discord_standin.wait_replies(await discord_standin.slash(mark, CHANNEL, ada))
    assert "is for admins" in text_of(refused)
    setup = [{"name": "setup", "type": 1, "options": [{"name": "mock_mc", "type": 3, "value": "45s"},
                                                      {"name": "mock_open", "type": 3, "value": "4m"}]}]
    replies = await discord_standin.wait_replies(await discord_standin.slash(setup, CHANNEL, boss))
    assert any("45s multiple choice, 4m open-ended" in text_of(r) for r in replies)
    settings = bot.engine.settings_for("discord", GUILD)
    assert (settings.mock_mc, settings.mock_open) == (45, 240)
