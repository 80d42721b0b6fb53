"""The team features on Discord (issue 16): /quiz forget-me with its button, /quiz flag, the /quiz suggest modal
(a broken field comes back with a button that opens the form again), /quiz suggestions, seasons, the reminder
before the reveal and the role pinged on the daily post (allowed_mentions allows exactly that role)."""

from __future__ import annotations

from datetime import timedelta

from discord_rig import CHANNEL, GUILD, custom_ids_of, only_round, text_of

ROLE = "1400000000000000001"
GOOD = {
    "question": "What does the temperature change when sampling tokens?",
    "choices": "How sharp the next-token distribution is\nThe size of the vocabulary\nThe context window",
    "correct": "1",
    "answer": "Temperature divides the logits before the softmax: below 1 it sharpens the distribution, above 1 "
              "it flattens it.",
    "key_points": "divides the logits\nlower is sharper and more deterministic\nhigher is flatter and more varied",
}


def sub(name: str, **options) -> list[dict]:
    kinds = {bool: 5, int: 4}
    return [{"name": name, "type": 1, "options": [{"name": k, "type": kinds.get(type(v), 3), "value": v}
                                                  for k, v in options.items()]}]


async def ask(standin, options, user, count=1):
    token = await standin.slash(options, CHANNEL, user)
    return await standin.wait_replies(token, count)


async def submit_suggestion(standin, custom_id: str, values: dict, user) -> str:
    """The suggest modal sent, shaped as Discord sends a modal of labels."""
    guild_id = next(iter(standin.guilds))
    event = standin._interaction("interaction_modal_submit", CHANNEL, user, guild_id)
    event["data"] = {"custom_id": custom_id, "components": [
        {"type": 18, "id": i, "component": {"type": 4, "id": 100 + i, "custom_id": key, "value": value}}
        for i, (key, value) in enumerate(values.items(), 1)]}
    await standin.dispatch("INTERACTION_CREATE", event)
    return event["token"]


async def test_forget_me_with_its_button_and_for_an_unknown_member(bot, discord_standin):
    stranger = discord_standin.member("1300000000000000009", "Stranger")
    [nothing] = await ask(discord_standin, sub("forget-me"), stranger)
    assert "nothing to delete" in text_of(nothing) and nothing["flags"] & 64
    assert custom_ids_of(nothing) == []

    ada = discord_standin.member("1300000000000000001", "Ada")
    await ask(discord_standin, sub("advanced"), ada)  # a private question: Ada is known now
    [asked] = await ask(discord_standin, sub("forget-me"), ada)
    assert "Delete your data?" in text_of(asked) and asked["flags"] & 64
    assert custom_ids_of(asked) == ["studybot:cmd:forget-me confirm"]
    assert bot.store.member_data(ada["user"]["id"], "discord")["private question"] == 1

    click = await discord_standin.click(asked, "studybot:cmd:forget-me confirm", user=ada, channel_id=CHANNEL)
    [done] = await discord_standin.wait_replies(click)
    assert "Deleted your name, the text of your answers" in text_of(done) and done["flags"] & 64
    assert not any(bot.store.member_data(ada["user"]["id"], "discord").values())


async def test_flag_twice_counts_once_and_admins_see_the_reports(start_bot, discord_standin):
    bot = await start_bot(discord_channel=CHANNEL)
    await bot.scheduler.daily("discord", GUILD)
    rnd = only_round(bot)
    ada = discord_standin.member("1300000000000000001", "Ada")
    [flagged] = await ask(discord_standin, sub("flag", reason="two choices are right"), ada)
    assert f"`{rnd.question_id}`" in text_of(flagged) and flagged["flags"] & 64
    [again] = await ask(discord_standin, sub("flag"), ada)
    assert "already" in text_of(again)
    assert len(bot.store.open_flags("discord", GUILD, rnd.question_id)) == 1

    [refused] = await ask(discord_standin, sub("flags"), ada)
    assert "for admins" in text_of(refused)
    boss = discord_standin.member("1300000000000000005", "Boss", admin=True)
    replies = await ask(discord_standin, sub("flags"), boss, 2)
    assert "A member reported question" in text_of(replies[0])  # the notice at the admin's next command
    assert "two choices are right" in text_of(replies[1]) and "1 report" in text_of(replies[1])
    [cleared] = await ask(discord_standin, sub("flags", clear=rnd.question_id), boss)
    assert "Cleared 1 report" in text_of(cleared)


async def test_suggest_modal_a_broken_field_comes_back_then_an_admin_approves(bot, discord_standin):
    ada = discord_standin.member("1300000000000000001", "Ada")
    [modal] = await ask(discord_standin, sub("suggest", level="basic", topic="Sampling"), ada)
    assert modal["callback_type"] == 9 and modal["title"] == "Suggest a question"
    assert modal["custom_id"].startswith("studybot:suggest:") and modal["custom_id"].endswith(":0")
    fields = [label["component"]["custom_id"] for label in modal["components"]]
    # at most 5: level and topic are options
    assert fields == ["question", "choices", "correct", "answer", "key_points"]
    assert all(len(label["label"]) <= 45 for label in modal["components"])

    broken = {**GOOD, "choices": "Only one choice", "correct": "2"}
    token = await submit_suggestion(discord_standin, modal["custom_id"], broken, ada)
    [problems] = await discord_standin.wait_replies(token)
    text = text_of(problems)
    assert "Choices, one per line (or open-ended)" in text and "needs 2 to 4" in text and problems["flags"] & 64
    [reopen] = custom_ids_of(problems)
    assert reopen.startswith("studybot:cmd:suggest draft ")

    click = await discord_standin.click(problems, reopen, user=ada, channel_id=CHANNEL)
    [again] = await discord_standin.wait_replies(click)
    assert again["callback_type"] == 9  # the form again, with what was typed
    defaults = {label["component"]["custom_id"]: label["component"].get("value") for label in again["components"]}
    assert defaults["choices"] == "Only one choice" and defaults["question"] == GOOD["question"]
    token = await submit_suggestion(discord_standin, again["custom_id"], GOOD, ada)
    [saved] = await discord_standin.wait_replies(token)
    assert "waits for an admin's review" in text_of(saved)
    [row] = bot.store.suggestions_of("discord", GUILD, "pending")
    assert row["user_id"] == ada["user"]["id"]

    boss = discord_standin.member("1300000000000000005", "Boss", admin=True)
    replies = await ask(discord_standin, sub("suggestions"), boss, 2)
    assert GOOD["question"] in text_of(replies[-1])
    replies = await ask(discord_standin, sub("suggestions", action="approve", number=row["id"]), boss)
    assert f"suggested-{row['id']}" in text_of(replies[-1])
    def verdicts():
        return [c for c in discord_standin.find("POST", r"/channels/\d+/messages") if "was approved" in text_of(c.body)]

    await discord_standin.wait_for(verdicts, what="the verdict, in a direct message")
    [dm] = discord_standin.find("POST", r"/users/@me/channels")
    assert str(dm.body["recipient_id"]) == ada["user"]["id"]
    assert bot.engine.bank.get(f"suggested-{row['id']}").topic == "Sampling"


async def test_season_reminder_and_role_ping_on_the_daily_post(start_bot, discord_standin):
    bot = await start_bot(discord_channel=CHANNEL, reveal_after=8 * 3600)
    boss = discord_standin.member("1300000000000000005", "Boss", admin=True)
    role = {"id": ROLE, "name": "quiz-fans", "color": 0, "hoist": False, "position": 1, "permissions": "0",
            "managed": False, "mentionable": True, "flags": 0, "icon": None, "unicode_emoji": None}
    token = await discord_standin.slash(
        [{"name": "setup", "type": 1, "options": [{"name": "season", "type": 3, "value": "monthly"},
                                                   {"name": "remind", "type": 3, "value": "1h"},
                                                   {"name": "ping", "type": 8, "value": ROLE}]}],
        CHANNEL, boss, resolved={"roles": {ROLE: role}})
    [saved] = await discord_standin.wait_replies(token)
    assert "**Seasons:** monthly" in text_of(saved) and "**Reminder before the reveal:** 1h" in text_of(saved)
    settings = bot.engine.settings_for("discord", GUILD)
    assert (settings.season, settings.remind_before, settings.ping) == ("monthly", 3600, ROLE)

    await bot.scheduler.daily("discord", GUILD)
    [post] = discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")
    assert post.body["content"] == f"<@&{ROLE}>"
    assert post.body["allowed_mentions"] == {"parse": [], "roles": [int(ROLE)]}  # that role and nothing else
    rnd = only_round(bot)
    job = bot.scheduler.scheduler.get_job(f"remind:{rnd.id}")
    assert job is not None and job.trigger.run_date == rnd.deadline - timedelta(hours=1)

    ada = discord_standin.member("1300000000000000001", "Ada")
    await discord_standin.react(rnd.message_id, CHANNEL, "1️⃣", ada)
    await discord_standin.wait_for(lambda: len(bot.store.answers(rnd.id)) == 1, what="an answer")
    bot.clock.advance(hours=7)
    await bot.scheduler.remind(rnd.id)
    [reminder] = discord_standin.find("POST", rf"/channels/{rnd.thread_id}/messages")
    assert reminder.body["content"] == "⏰ 1 hour left, 1 answer so far."
    await bot.scheduler.remind(rnd.id)
    assert len(discord_standin.find("POST", rf"/channels/{rnd.thread_id}/messages")) == 1  # once

    await bot.engine.rounds.reveal_async(rnd.id)
    [_post_round] = await ask(discord_standin, sub("post"), boss)  # /quiz post does not ping
    posts = discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")
    assert "content" not in posts[-1].body or not posts[-1].body["content"]
    [board] = await ask(discord_standin, sub("leaderboard", scope="season"), ada)
    assert "Leaderboard: season" in text_of(board)

    bot.clock.now = bot.clock.now.replace(day=1, hour=0, minute=0) + timedelta(days=40)  # past the month's end
    bot.clock.now = bot.clock.now.replace(day=1)
    await bot.scheduler.season_end("discord", GUILD)
    ended = [c for c in discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")
             if "is over" in text_of(c.body)]
    assert len(ended) == 1 and "starts now" in text_of(ended[0].body)
