"""A daily round on Discord, end to end: post, seeded reactions, answers by reaction, thread and form, reveal,
points."""

from __future__ import annotations

import re

from discord_rig import CHANNEL, GUILD, custom_ids_of, only_round, text_of

KEYCAPS = ["1️⃣", "2️⃣", "3️⃣", "4️⃣"]


async def test_daily_round_with_three_members(start_bot, discord_standin):
    bot = await start_bot(discord_channel=CHANNEL, discord_message_content=True)
    assert discord_standin.identifies[0]["intents"] == (1 << 0) | (1 << 9) | (1 << 10) | (1 << 15)

    await bot.scheduler.daily("discord", GUILD)

    # The post: an embed with the question, numbered choices, a Discord timestamp, how to answer; the form button.
    [post_call] = discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")
    rnd = only_round(bot)
    question = bot.engine.bank.get(rnd.question_id)
    [embed] = post_call.body["embeds"]
    assert embed["title"].startswith("Question of the day · ")
    assert question.question in embed["description"]
    for number, choice in enumerate(question.choices, 1):
        assert f"**{number}.** {choice}" in embed["description"]
    assert f"<t:{int(rnd.deadline.timestamp())}:R>" in embed["description"]
    assert "React with 1️⃣ 2️⃣ 3️⃣ 4️⃣" in embed["description"] and "replying in the thread" in embed["description"]
    assert custom_ids_of(post_call.body) == [f"studybot:write:{rnd.id}"]
    assert post_call.body["allowed_mentions"] == {"parse": []}

    # Then, in the background, the reactions in choice order and the thread under the post.
    await bot.adapter.delivery.settle(5)
    post_id = rnd.message_id
    assert discord_standin.bot_reactions[post_id] == KEYCAPS[: len(question.choices)]
    [thread_call] = discord_standin.find("POST", rf"/channels/{CHANNEL}/messages/{post_id}/threads")
    assert thread_call.body["name"].startswith("Answers · Question of the day")
    assert rnd.thread_id == post_id  # a thread started from a message has the message's id

    ada = discord_standin.member("1300000000000000001", "Ada")
    grace = discord_standin.member("1300000000000000002", "Grace")
    linus = discord_standin.member("1300000000000000003", "Linus")
    right, wrong = question.correct, 1 if question.correct != 1 else 2

    # The bot's own seeded reactions arrive as events too: they are not answers. Nor is a heart.
    await discord_standin.react(post_id, CHANNEL, KEYCAPS[0], None, user_id=discord_standin.bot_user["id"])
    await discord_standin.react(post_id, CHANNEL, "❤️", ada)
    await discord_standin.react(post_id, CHANNEL, KEYCAPS[right - 1], ada)
    await discord_standin.react(post_id, CHANNEL, KEYCAPS[wrong - 1], grace)
    await discord_standin.wait_for(lambda: len(bot.store.answers(rnd.id)) == 2, what="two answers")
    await discord_standin.react(post_id, CHANNEL, KEYCAPS[right - 1], grace)  # the first pick is locked in

    # Grace also explains in the thread; Linus answers in his own words through the form.
    await discord_standin.say_in_thread(post_id, " ".join(question.key_points), grace)
    token = await discord_standin.click(discord_standin.messages[post_id], f"studybot:write:{rnd.id}", user=linus)
    [form] = await discord_standin.wait_replies(token)
    assert form["callback_type"] == 9 and form["custom_id"] == f"studybot:answer:{rnd.id}"
    token = await discord_standin.submit_form(form["custom_id"], question.answer, CHANNEL, user=linus)
    [saved] = await discord_standin.wait_replies(token)
    assert "Saved your written answer" in text_of(saved) and saved["flags"] & 64

    await discord_standin.wait_for(lambda: len(bot.store.answers(rnd.id)) == 3, what="three answers")
    answers = {a.user_id: a for a in bot.store.answers(rnd.id)}
    assert answers[ada["user"]["id"]].choice == right
    assert answers[grace["user"]["id"]].choice == wrong and answers[grace["user"]["id"]].text
    assert answers[linus["user"]["id"]].choice is None and answers[linus["user"]["id"]].text == question.answer

    # The deadline passes: the reveal goes in the thread, the post is edited closed, once.
    bot.clock.advance(hours=2)
    await bot.scheduler.safety_net()
    await bot.scheduler.safety_net()
    [reveal] = discord_standin.find("POST", rf"/channels/{post_id}/messages")
    text = text_of(reveal.body)
    assert f"Answer: {right}. {question.correct_text}" in text
    picks = re.search(r"\*\*Picks:\*\* (.*)", text)[1]
    assert f"{right}: 1" in picks and f"{wrong}: 1" in picks
    right_line = re.search(r"\*\*Right:\*\* (.*)", text)[1]
    assert "Ada" in right_line and "Grace" not in right_line
    assert "Ada +10" in text
    [closed] = discord_standin.find("PATCH", rf"/channels/{CHANNEL}/messages/{post_id}")
    assert closed.body["embeds"][0]["title"].endswith("· closed")
    assert "**Closed.**" in closed.body["embeds"][0]["description"]
    assert closed.body["components"] == []  # no more buttons on a closed round

    standings = {s.name: s.points for s in bot.store.standings("discord", GUILD, None, 10)}
    assert standings["Ada"] == 10 and standings.get("Grace", 0) < 20
    assert standings["Linus"] > 0  # the model answer makes every key point

    # Late answers do not count.
    await discord_standin.react(post_id, CHANNEL, KEYCAPS[right - 1],
                                discord_standin.member("1300000000000000004", "Late"))
    await discord_standin.say_in_thread(post_id, "late words", discord_standin.member("1300000000000000004", "Late"))
    token = await discord_standin.submit_form(f"studybot:answer:{rnd.id}", "late", CHANNEL, user=ada)
    [late] = await discord_standin.wait_replies(token)
    assert "closed" in text_of(late)
    assert len(bot.store.answers(rnd.id)) == 3


async def test_hidden_votes_round_uses_buttons_and_confirms_privately(start_bot, discord_standin):
    bot = await start_bot(discord_channel=CHANNEL)
    admin = discord_standin.member("1300000000000000009", "Boss", admin=True)
    token = await discord_standin.slash([{"name": "setup", "type": 1, "options": [
        {"name": "hidden", "type": 5, "value": True}, {"name": "reveal", "type": 3, "value": "30m"}]}], CHANNEL, admin)
    [saved] = await discord_standin.wait_replies(token)
    assert "Saved." in text_of(saved) and "**Hidden votes:** on" in text_of(saved)

    await bot.scheduler.daily("discord", GUILD)
    rnd = only_round(bot)
    question = bot.engine.bank.get(rnd.question_id)
    post = discord_standin.messages[rnd.message_id]
    assert custom_ids_of(post) == [f"studybot:pick:{rnd.id}:{n}" for n in range(1, len(question.choices) + 1)] + [
        f"studybot:write:{rnd.id}"]
    assert rnd.message_id not in discord_standin.bot_reactions  # no seeded reactions: the tally stays hidden
    assert "only you see your pick" in text_of(post)
    assert (rnd.deadline - rnd.posted_at).total_seconds() == 1800

    ada = discord_standin.member("1300000000000000001", "Ada")
    token = await discord_standin.click(post, f"studybot:pick:{rnd.id}:2", user=ada)
    [confirm] = await discord_standin.wait_replies(token)
    assert "Your answer 2 is locked in" in text_of(confirm) and confirm["flags"] & 64
    token = await discord_standin.click(post, f"studybot:pick:{rnd.id}:3", user=ada)
    [locked] = await discord_standin.wait_replies(token)
    assert "first answer (2) is locked in" in text_of(locked)
    assert [a.choice for a in bot.store.answers(rnd.id)] == [2]


async def test_many_servers_from_one_process_each_with_its_own_channel_and_board(start_bot, discord_standin):
    other_guild, other_channel = "1100000000000000555", "1110000000000000555"
    discord_standin.add_guild(other_guild, name="Another team")
    discord_standin.add_channel(other_guild, "quiz", other_channel)
    bot = await start_bot(discord_channel=CHANNEL)
    admin = discord_standin.member("1300000000000000009", "Boss", admin=True)
    token = await discord_standin.slash([{"name": "setup", "type": 1, "options": [
        {"name": "reveal", "type": 3, "value": "10m"}]}], other_channel, admin, guild_id=other_guild)
    assert "Saved." in text_of((await discord_standin.wait_replies(token))[0])

    await bot.scheduler.daily("discord", GUILD)
    await bot.scheduler.daily("discord", other_guild)
    rounds = {r.place.workspace: r for r in bot.engine.rounds.open_rounds()}
    assert rounds[GUILD].place.channel == CHANNEL and rounds[other_guild].place.channel == other_channel
    assert (rounds[other_guild].deadline - rounds[other_guild].posted_at).total_seconds() == 600

    ada = discord_standin.member("1300000000000000001", "Ada")
    other = rounds[other_guild]
    correct = bot.engine.bank.get(other.question_id).correct
    await discord_standin.react(other.message_id, other_channel, KEYCAPS[correct - 1], ada)
    await discord_standin.wait_for(lambda: bot.store.answers(other.id), what="the answer in the other server")
    bot.clock.advance(minutes=11)
    await bot.scheduler.safety_net()
    assert [s.name for s in bot.store.standings("discord", other_guild, None, 10)] == ["Ada"]
    assert bot.store.standings("discord", GUILD, None, 10) == []  # each server its own board
    assert bot.store.round(rounds[GUILD].id).is_open


async def test_without_reactions_or_threads_allowed_the_round_still_runs_and_admins_are_told(start_bot,
                                                                                          discord_standin):
    bot = await start_bot(discord_channel=CHANNEL)
    discord_standin.no_reactions.add(CHANNEL)
    discord_standin.no_threads.add(CHANNEL)
    admin = discord_standin.member("1300000000000000009", "Boss", admin=True)
    token = await discord_standin.slash([{"name": "post", "type": 1, "options": [
        {"name": "level", "type": 3, "value": "basic"}]}], CHANNEL, admin)
    [posted] = await discord_standin.wait_replies(token)
    assert "Posted a new round" in text_of(posted)
    rnd = only_round(bot)
    # The thread id is the post's (Discord's rule) even though the thread could not open: the reveal falls back.
    assert rnd.kind == "post" and rnd.level == "basic" and rnd.message_id and rnd.thread_id == rnd.message_id
    await bot.adapter.delivery.settle(5)

    # Members answer with the form; thread replies are not read without the message-content setting.
    ada = discord_standin.member("1300000000000000001", "Ada")
    await discord_standin.say_in_thread(rnd.message_id, "words nobody reads", ada)
    token = await discord_standin.submit_form(f"studybot:answer:{rnd.id}", "my own words", CHANNEL, ada)
    await discord_standin.wait_replies(token)
    assert [a.text for a in bot.store.answers(rnd.id)] == ["my own words"]

    token = await discord_standin.slash([{"name": "help", "type": 1, "options": []}], CHANNEL, admin)
    notes = [text_of(r) for r in await discord_standin.wait_replies(token, 3)]
    assert any("could not add the answer reactions" in n for n in notes)
    assert any("could not start a thread" in n for n in notes)

    bot.clock.advance(hours=2)
    await bot.scheduler.safety_net()
    [reveal] = [c for c in discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")
                if c.body.get("message_reference")]
    assert str(reveal.body["message_reference"]["message_id"]) == rnd.message_id and "Answer:" in text_of(reveal.body)


async def test_an_image_is_attached_inside_its_embed(bot, discord_standin, tmp_path):
    from bot.events import Kind, Outgoing
    from bot.models import Place

    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    await bot.adapter.send(Outgoing(Kind.BOARD, Place("discord", GUILD, CHANNEL), "This week", title="Board",
                                    image=chart))
    [call] = discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")
    assert call.files == ["chart.png"]
    assert call.body["embeds"][0]["image"]["url"] == "attachment://chart.png"
