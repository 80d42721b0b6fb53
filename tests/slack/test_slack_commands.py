"""/quiz on Slack: on-demand questions with buttons, admin commands, boards, App Home, reminders."""

from __future__ import annotations

import slack_payloads as payloads
from slack_fake import TEAM
from slack_rig import CHANNEL, REVEAL_AFTER, bank, block_text, start_bot

from adapters.slack.ids import CHOICE_REACTIONS
from bot.events import Kind, Outgoing
from bot.models import Member, Place


def _actions(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_quiz_advanced_is_acked_at_once_then_asked_privately_with_buttons(bot, fake):
    fake.delays["users.info"] = 1.0  # slow work after the ack must not delay the ack
    reply, key = await bot.command("advanced", settle=False)
    assert reply.status == 200 and reply.body == "" and reply.seconds < 0.5
    assert not fake.responses_to(key)  # the question comes after the ack
    await bot.settle()
    fake.delays.clear()

    [asked] = fake.responses_to(key)
    assert asked["response_type"] == "ephemeral" and asked["replace_original"] is False
    rnd = bot.store.open_personal_round(Place("slack", TEAM, CHANNEL), "U0ADA")
    assert rnd is not None and rnd.level == "advanced" and rnd.kind == "personal"
    question = bank().get(rnd.question_id)
    assert asked["blocks"][0]["type"] == "header" and "advanced" in asked["blocks"][0]["text"]["text"]
    count = len(question.choices)
    assert _actions(asked["blocks"]) == [f"studybot:pick:{rnd.id}:{n}" for n in range(1, count + 1)] + [
        f"studybot:write:{rnd.id}"]
    assert not fake.to("chat.postMessage")  # nothing in the channel

    # A click on the right choice: immediate private feedback with the model answer.
    click = payloads.block_action("U0ADA", f"studybot:pick:{rnd.id}:{question.correct}", CHANNEL, "1.2",
                                  fake.response_url("click"))
    assert (await bot.interact(click)).status == 200
    [feedback] = fake.responses_to("click")
    assert feedback["response_type"] == "ephemeral"
    assert "Right" in feedback["text"] and "Model answer" in block_text(feedback["blocks"])
    assert bot.answers(rnd.id)["U0ADA"].correct is True

    # A second click changes nothing; personal rounds earn no leaderboard points.
    await bot.interact(payloads.block_action("U0ADA", f"studybot:pick:{rnd.id}:1", CHANNEL, "1.2",
                                             fake.response_url("again")))
    assert "already answered" in fake.responses_to("again")[0]["text"]
    assert bot.store.standings("slack", TEAM, None, 10) == []


async def test_on_demand_answer_in_own_words_through_the_form(bot, fake):
    _reply, _key = await bot.command("basic", user="U0BRIAN")
    rnd = bot.store.open_personal_round(Place("slack", TEAM, CHANNEL), "U0BRIAN")
    question = bank().get(rnd.question_id)
    await bot.interact(payloads.block_action("U0BRIAN", f"studybot:write:{rnd.id}", CHANNEL, "1.2",
                                             fake.response_url("write")))
    [opened] = fake.to("views.open")
    metadata = opened.args["view"]["private_metadata"]
    assert str(rnd.id) in metadata and fake.response_url("write") in metadata

    await bot.interact(payloads.view_submission("U0BRIAN", rnd.id, "\n".join(question.key_points),
                                                fake.response_url("write"), CHANNEL))
    [feedback] = fake.responses_to("write")
    said = block_text(feedback["blocks"])
    assert "key points" in said and "Model answer" in said
    assert bot.answers(rnd.id)["U0BRIAN"].score > 0.5


async def test_admin_commands_follow_slack_admin_flags(bot, fake):
    _reply, key = await bot.command("post", user="U0ADA")
    assert "is for admins" in fake.responses_to(key)[0]["text"]
    assert not fake.to("chat.postMessage")

    _reply, key = await bot.command("post basic", user="U0DANA")  # a workspace admin
    [post] = fake.to("chat.postMessage")
    assert post.args["channel"] == CHANNEL and "basic" in post.args["blocks"][0]["text"]["text"]
    assert "Posted a new round" in fake.responses_to(key)[-1]["text"]

    _, key = await bot.command("setup", user="U0OWEN")  # the workspace owner
    assert "Setup" in fake.responses_to(key)[0]["text"]

    await bot.command("help", user="U0DANA")
    looked_up = [c.args["user"] for c in fake.to("users.info")]
    assert looked_up.count("U0DANA") == 1  # users.info answers are cached


async def test_studybot_admins_setting_grants_admin_commands(tmp_path, fake):
    bot = await start_bot(tmp_path, fake, admins=frozenset({"U0BRIAN"}))
    try:
        _reply, key = await bot.command("post", user="U0BRIAN")
        assert len(fake.to("chat.postMessage")) == 1
        assert "Posted a new round" in fake.responses_to(key)[-1]["text"]
    finally:
        await bot.close()


async def test_leaderboard_stats_and_help_are_private(bot, fake):
    rnd = await bot.deliver_daily()
    ts = rnd.message_id.split(":", 1)[1]
    question = bank().get(rnd.question_id)
    await bot.event(payloads.reaction_added("U0ADA", CHOICE_REACTIONS[question.correct - 1], CHANNEL, ts))
    bot.clock.advance(REVEAL_AFTER + 1)
    await bot.router.deliver(bot.engine.rounds.reveal_due())

    _, board = await bot.command("leaderboard", user="U0BRIAN")
    shown = fake.responses_to(board)[0]
    assert shown["response_type"] == "ephemeral"
    table = block_text(shown["blocks"])
    assert "```" in table and "Ada" in table and "10" in table

    _, stats = await bot.command("stats")
    assert "Streak" in block_text(fake.responses_to(stats)[0]["blocks"])
    _, helped = await bot.command("help")
    assert "/quiz leaderboard" in block_text(fake.responses_to(helped)[0]["blocks"])
    assert len([c for c in fake.to("chat.postMessage") if "thread_ts" not in c.args]) == 1  # only the round post


async def test_app_home_shows_own_stats_and_the_week_board(bot, fake):
    rnd = await bot.deliver_daily()
    ts = rnd.message_id.split(":", 1)[1]
    question = bank().get(rnd.question_id)
    await bot.event(payloads.reaction_added("U0ADA", CHOICE_REACTIONS[question.correct - 1], CHANNEL, ts))
    bot.clock.advance(REVEAL_AFTER + 1)
    await bot.router.deliver(bot.engine.rounds.reveal_due())

    assert (await bot.event(payloads.app_home_opened("U0ADA"))).status == 200
    [published] = fake.to("views.publish")
    assert published.args["user_id"] == "U0ADA"
    view = published.args["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    shown = block_text(view["blocks"])
    assert "Your record, Ada" in shown and "*Streak:* 1" in shown
    assert "This week's leaderboard" in shown and "Ada" in shown.split("This week's leaderboard", 1)[1]

    await bot.event(payloads.app_home_opened("U0CHEN"))
    assert "No answers yet" in block_text(fake.to("views.publish")[-1].args["view"]["blocks"])


async def test_reminders_go_as_direct_messages(bot, fake):
    member = Member("slack", "U0CHEN", "Chen Li")
    reminder = Outgoing(Kind.REMINDER, Place("slack", TEAM, CHANNEL), "You have 2 questions due for review.",
                        title="Review reminder", to=member)
    await bot.router.deliver([reminder])
    [opened] = fake.to("conversations.open")
    assert opened.args["users"] == "U0CHEN"
    [dm] = fake.to("chat.postMessage")
    assert dm.args["channel"] == "D0CHEN" and "due for review" in block_text(dm.args["blocks"])


async def test_private_reply_without_a_live_response_url_falls_back_to_post_ephemeral(bot, fake):
    _reply, _key = await bot.command("help", key="expired-1")  # the stand-in answers 404 expired_url
    [ephemeral] = fake.to("chat.postEphemeral")
    assert ephemeral.args["user"] == "U0ADA" and ephemeral.args["channel"] == CHANNEL
    assert "/quiz leaderboard" in block_text(ephemeral.args["blocks"])
