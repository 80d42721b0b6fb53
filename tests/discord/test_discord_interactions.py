"""Slash commands, buttons and the answer form: private questions with immediate feedback, and restarts."""

from __future__ import annotations

from discord_rig import CHANNEL, GUILD, custom_ids_of, only_round, text_of

ADVANCED = [{"name": "advanced", "type": 1, "options": []}]


def _personal_round(bot, user_id: str):
    [row] = bot.store.rows("SELECT id FROM rounds WHERE kind = 'personal' AND owner = ? ORDER BY id DESC LIMIT 1",
                           (user_id,))
    return bot.store.round(row["id"])


async def test_quiz_advanced_is_private_with_buttons_and_feedback_comes_at_once(bot, discord_standin):
    ada = discord_standin.member("1300000000000000001", "Ada")
    token = await discord_standin.slash(ADVANCED, CHANNEL, ada)
    [question_msg] = await discord_standin.wait_replies(token)

    # Acknowledged at once as an ephemeral "thinking", then the question as an ephemeral follow-up.
    [callback] = discord_standin.find("POST", rf"/interactions/\d+/{token}/callback")
    assert callback.body == {"type": 5, "data": {"flags": 64}}
    assert question_msg["flags"] & 64
    rnd = _personal_round(bot, ada["user"]["id"])
    question = bot.engine.bank.get(rnd.question_id)
    assert question.level == "advanced"
    assert question_msg["embeds"][0]["title"].startswith("Your question · advanced · ")
    assert question.question in text_of(question_msg)
    buttons = custom_ids_of(question_msg)
    assert buttons == [f"studybot:pick:{rnd.id}:{n}" for n in range(1, len(question.choices) + 1)] + [
        f"studybot:write:{rnd.id}"]
    assert not discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")  # nothing in the channel

    # A click on the answer: feedback with the model answer, privately, right away.
    sent = question_msg
    wrong = 1 if question.correct != 1 else 2
    click = await discord_standin.click(sent, f"studybot:pick:{rnd.id}:{wrong}", user=ada, channel_id=CHANNEL)
    [feedback] = await discord_standin.wait_replies(click)
    assert feedback["flags"] & 64
    assert f"You picked {wrong}." in text_of(feedback)
    assert "**Model answer**" in text_of(feedback) and question.answer.split()[0] in text_of(feedback)
    assert not bot.store.round(rnd.id).is_open

    # Personal rounds never reach the leaderboard; a second click is refused politely.
    assert bot.store.standings("discord", GUILD, None, 10) == []
    again = await discord_standin.click(sent, f"studybot:pick:{rnd.id}:{question.correct}", user=ada,
                                        channel_id=CHANNEL)
    [refused] = await discord_standin.wait_replies(again)
    assert "already answered" in text_of(refused)

    # A button whose round the database no longer has (say, a database restored from an old backup).
    orphan = sent | {"components": [{"type": 1, "components": [
        {"type": 2, "style": 2, "label": "1", "custom_id": "studybot:pick:999999:1"}]}]}
    click = await discord_standin.click(orphan, "studybot:pick:999999:1", user=ada, channel_id=CHANNEL)
    [gone] = await discord_standin.wait_replies(click)
    assert "no longer open" in text_of(gone)


async def test_written_answer_through_the_form_is_graded_at_once(bot, discord_standin):
    ada = discord_standin.member("1300000000000000001", "Ada")
    token = await discord_standin.slash([{"name": "basic", "type": 1, "options": []}], CHANNEL, ada)
    [question_msg] = await discord_standin.wait_replies(token)
    rnd = _personal_round(bot, ada["user"]["id"])
    question = bot.engine.bank.get(rnd.question_id)

    click = await discord_standin.click(question_msg, f"studybot:write:{rnd.id}", user=ada, channel_id=CHANNEL)
    [form] = await discord_standin.wait_replies(click)
    assert form["callback_type"] == 9
    assert form["custom_id"] == f"studybot:answer:{rnd.id}" and form["title"] == "Your answer"
    [label] = form["components"]
    assert label["component"]["custom_id"] == "answer" and label["component"]["max_length"] == 4000

    token = await discord_standin.submit_form(form["custom_id"], "; ".join(question.key_points), CHANNEL, ada)
    [feedback] = await discord_standin.wait_replies(token)
    text = text_of(feedback)
    assert f"made {len(question.key_points)} of {len(question.key_points)} key points" in text
    assert "**Model answer**" in text
    [answer] = bot.store.answers(rnd.id)
    assert answer.text == "; ".join(question.key_points) and all(answer.found)


async def test_leaderboard_stats_review_and_help_answer_privately(bot, discord_standin):
    ada = discord_standin.member("1300000000000000001", "Ada")
    cases = {
        "leaderboard": ([{"name": "leaderboard", "type": 1, "options": [{"name": "scope", "type": 3, "value": "all"}]}],
                        "Leaderboard: all time"),
        "stats": ([{"name": "stats", "type": 1, "options": []}], "Stats · Ada"),
        "review": ([{"name": "review", "type": 1, "options": [{"name": "remind", "type": 3, "value": "on"}]}],
                   "one reminder a day"),
        "help": ([{"name": "help", "type": 1, "options": []}], "/quiz leaderboard [week|all]"),
    }
    for name, (options, expected) in cases.items():
        token = await discord_standin.slash(options, CHANNEL, ada)
        replies = await discord_standin.wait_replies(token)
        assert any(expected in text_of(r) for r in replies), name
        assert all(r["flags"] & 64 for r in replies), name
    [row] = bot.store.rows("SELECT enabled FROM reminders WHERE user_id = ?", (ada["user"]["id"],))
    assert row["enabled"] == 1


async def test_buttons_and_reactions_work_after_a_restart_and_the_reveal_happens_once(start_bot, discord_standin):
    first = await start_bot(discord_channel=CHANNEL)
    await first.scheduler.daily("discord", GUILD)
    rnd = only_round(first)
    ada = discord_standin.member("1300000000000000001", "Ada")
    personal = await discord_standin.slash(ADVANCED, CHANNEL, ada)
    [personal_msg] = await discord_standin.wait_replies(personal)
    personal_round = _personal_round(first, ada["user"]["id"])
    await first.stop()
    posts_before = len(discord_standin.find("POST", rf"/channels/{CHANNEL}/messages"))

    second = await start_bot(discord_channel=CHANNEL)  # a new client, the same database
    await second.scheduler.catch_up()
    assert len(discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")) == posts_before  # nothing re-posted

    # The old post's form button, the old private question's buttons, and reactions on the old post all work.
    grace = discord_standin.member("1300000000000000002", "Grace")
    post = discord_standin.messages[rnd.message_id]
    click = await discord_standin.click(post, f"studybot:write:{rnd.id}", user=grace)
    [form] = await discord_standin.wait_replies(click)
    token = await discord_standin.submit_form(form["custom_id"], "attention", CHANNEL, grace)
    assert "Saved your written answer" in text_of((await discord_standin.wait_replies(token))[0])
    click = await discord_standin.click(personal_msg, f"studybot:pick:{personal_round.id}:1", user=ada,
                                        channel_id=CHANNEL)
    assert "**Model answer**" in text_of((await discord_standin.wait_replies(click))[0])
    await discord_standin.react(rnd.message_id, CHANNEL, "1️⃣", ada)
    await discord_standin.wait_for(lambda: len(second.store.answers(rnd.id)) == 2, what="answers after restart")

    second.clock.advance(hours=2)
    await second.scheduler.safety_net()
    await second.stop()
    third = await start_bot(discord_channel=CHANNEL)
    await third.scheduler.catch_up()
    await third.scheduler.safety_net()
    assert len(discord_standin.find("POST", rf"/channels/{rnd.thread_id}/messages")) == 1  # revealed exactly once
    assert len(discord_standin.find("PATCH", rf"/channels/{CHANNEL}/messages/{rnd.message_id}")) == 1
    assert {s.name for s in third.store.standings("discord", GUILD, None, 10)} >= {"Grace"}
