"""A channel round on Slack, end to end: post, reactions, thread replies, the form, the reveal, points."""

from __future__ import annotations

import slack_payloads as payloads
from slack_fake import BOT_USER, TEAM
from slack_rig import CHANNEL, REVEAL_AFTER, bank, block_text, start_bot

from adapters.slack.ids import CHOICE_REACTIONS
from adapters.slack.render import escape, mrkdwn


def _thread_posts(fake, ts: str) -> list:
    return [c for c in fake.to("chat.postMessage") if c.args.get("thread_ts") == ts]


def _notes_to(fake, user: str) -> list[str]:
    return [block_text(c.args["blocks"]) for c in fake.to("chat.postEphemeral") if c.args["user"] == user]


async def test_daily_round_with_three_members(bot, fake):
    rnd = await bot.deliver_daily()
    question = bank().get(rnd.question_id)
    correct, wrong = question.correct, 1 if question.correct != 1 else 2

    # The post: Block Kit with a header, the question, numbered choices, the deadline, how to answer.
    [post] = fake.to("chat.postMessage")
    assert post.args["channel"] == CHANNEL
    blocks = post.args["blocks"]
    assert blocks[0]["type"] == "header" and "Question of the day" in blocks[0]["text"]["text"]
    shown = block_text(blocks)
    assert mrkdwn(question.question) in shown
    for number, choice in enumerate(question.choices, 1):
        assert f"*{number}.* {escape(choice)}" in shown
    assert f"<!date^{int(rnd.deadline.timestamp())}^" in shown
    assert "React with :one:" in shown and "reply in this thread" in shown
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [f"studybot:write:{rnd.id}"]

    # Seeded reactions, in choice order, on the post; the round knows its post as "<channel>:<ts>".
    ts = post_ts = rnd.message_id.split(":", 1)[1]
    assert rnd.message_id == f"{CHANNEL}:{post_ts}"
    seeded = fake.to("reactions.add")
    assert [r.args["name"] for r in seeded] == list(CHOICE_REACTIONS[: len(question.choices)])
    assert {(r.args["channel"], r.args["timestamp"]) for r in seeded} == {(CHANNEL, ts)}

    # The bot's own seeded reactions come back as events: not answers.
    await bot.event(payloads.reaction_added(BOT_USER, "one", CHANNEL, ts))
    # Ada picks right, then changes her mind: the first pick stays.
    await bot.event(payloads.reaction_added("U0ADA", CHOICE_REACTIONS[correct - 1], CHANNEL, ts))
    await bot.event(payloads.reaction_added("U0ADA", CHOICE_REACTIONS[wrong - 1], CHANNEL, ts))
    # Brian picks wrong; an emoji that is not a choice is ignored.
    await bot.event(payloads.reaction_added("U0BRIAN", "tada", CHANNEL, ts))
    await bot.event(payloads.reaction_added("U0BRIAN", CHOICE_REACTIONS[wrong - 1], CHANNEL, ts))
    # Chen answers in the thread, in his own words.
    await bot.event(payloads.thread_reply("U0CHEN", "; ".join(question.key_points), CHANNEL, ts))

    answers = bot.answers(rnd.id)
    assert set(answers) == {"U0ADA", "U0BRIAN", "U0CHEN"}
    assert answers["U0ADA"].choice == correct
    assert answers["U0BRIAN"].choice == wrong
    assert answers["U0CHEN"].choice is None and answers["U0CHEN"].text.startswith(question.key_points[0])
    assert answers["U0CHEN"].name == "Chen Li"  # users.info: real name when there is no display name

    ada = _notes_to(fake, "U0ADA")
    assert len(ada) == 2 and "locked in" in ada[0] and f"first answer ({correct})" in ada[1]
    assert all(c.args["thread_ts"] == ts for c in fake.to("chat.postEphemeral"))
    assert "Saved your written answer" in _notes_to(fake, "U0CHEN")[0]

    # The reveal: a thread reply, the post closed with chat.update, points on the board.
    bot.clock.advance(REVEAL_AFTER + 1)
    await bot.router.deliver(bot.engine.rounds.reveal_due())
    [reveal] = _thread_posts(fake, ts)
    said = block_text(reveal.args["blocks"])
    assert f"*Answer: {correct}. {escape(question.correct_text)}*" in said
    assert "Ada" in said and "Chen Li" in said and "*Points:*" in said
    assert f"{correct}: 1" in said and f"{wrong}: 1" in said
    [update] = fake.to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (CHANNEL, ts)
    assert "Closed." in block_text(update.args["blocks"])
    assert not [b for b in update.args["blocks"] if b["type"] == "actions"]
    assert any("key points" in note for note in _notes_to(fake, "U0CHEN"))  # graded privately

    points = {s.user_id: s.points for s in bot.store.standings("slack", TEAM, None, 10)}
    assert points["U0ADA"] == 10 and points.get("U0BRIAN", 0) == 0 and points["U0CHEN"] > 0

    # After the reveal, a late reaction changes nothing.
    await bot.event(payloads.reaction_added("U0OWEN", CHOICE_REACTIONS[correct - 1], CHANNEL, ts))
    assert "U0OWEN" not in bot.answers(rnd.id)


async def test_answer_button_opens_a_form_whose_answer_counts(bot, fake):
    rnd = await bot.deliver_daily()
    ts = rnd.message_id.split(":", 1)[1]
    click = payloads.block_action("U0BRIAN", f"studybot:write:{rnd.id}", CHANNEL, ts, fake.response_url("form"),
                                  trigger_id="4242.1337.cafe")
    assert (await bot.interact(click)).status == 200
    [opened] = fake.to("views.open")
    assert opened.args["trigger_id"] == "4242.1337.cafe"
    view = opened.args["view"]
    assert view["type"] == "modal" and view["callback_id"] == "studybot:written"
    assert len(view["title"]["text"]) <= 24

    submission = payloads.view_submission("U0BRIAN", rnd.id, "Self-attention & more.", fake.response_url("form"),
                                          CHANNEL)
    reply = await bot.interact(submission)
    assert reply.status == 200 and reply.body == ""  # an empty ack closes the modal
    assert bot.answers(rnd.id)["U0BRIAN"].text == "Self-attention & more."
    [confirmation] = fake.responses_to("form")
    assert confirmation["response_type"] == "ephemeral" and "Saved your written answer" in confirmation["text"]


async def test_hidden_votes_use_buttons_and_confirm_privately(bot, fake):
    _reply, key = await bot.command("setup hidden=on", user="U0DANA")
    assert "Saved" in fake.responses_to(key)[-1]["text"]
    rnd = await bot.deliver_daily()
    assert not fake.to("reactions.add")  # buttons instead of seeded reactions
    [post] = fake.to("chat.postMessage")
    [actions] = [b for b in post.args["blocks"] if b["type"] == "actions"]
    ids = [e["action_id"] for e in actions["elements"]]
    count = len(bank().get(rnd.question_id).choices)
    assert ids == [f"studybot:pick:{rnd.id}:{n}" for n in range(1, count + 1)] + [f"studybot:write:{rnd.id}"]
    ts = rnd.message_id.split(":", 1)[1]

    await bot.interact(payloads.block_action("U0ADA", ids[1], CHANNEL, ts, fake.response_url("vote")))
    assert bot.answers(rnd.id)["U0ADA"].choice == 2
    [confirmation] = fake.responses_to("vote")
    assert confirmation["response_type"] == "ephemeral" and "locked in" in confirmation["text"]
    assert not fake.to("chat.postEphemeral")  # the interaction's own response_url was used


async def test_restart_with_an_open_round(tmp_path, fake):
    first = await start_bot(tmp_path, fake)
    rnd = await first.deliver_daily()
    ts = rnd.message_id.split(":", 1)[1]
    question = bank().get(rnd.question_id)
    await first.event(payloads.reaction_added("U0ADA", CHOICE_REACTIONS[question.correct - 1], CHANNEL, ts))
    await first.close()

    # The bot comes back (same database file) after the deadline passed.
    clock = first.clock
    clock.advance(REVEAL_AFTER + 60)
    second = await start_bot(tmp_path, fake, clock=clock)
    try:
        # A reaction that came while it was down and is delivered now: the round is past its deadline.
        await second.event(payloads.reaction_added("U0BRIAN", "one", CHANNEL, ts))
        assert "U0BRIAN" not in second.answers(rnd.id)
        assert "closed" in _notes_to(fake, "U0BRIAN")[-1]
        # The scheduler's catch-up reveals the overdue round at start, in the old post's thread.
        await second.scheduler.start()
        [reveal] = _thread_posts(fake, ts)
        assert "Ada" in block_text(reveal.args["blocks"])
        assert [u.args["ts"] for u in fake.to("chat.update")] == [ts]
        assert second.store.round(rnd.id).revealed_at is not None
        assert len(fake.to("chat.postMessage")) == 2  # the post and the reveal: nothing posted twice
    finally:
        await second.close()


async def test_chatter_outside_rounds_costs_no_member_lookup(bot, fake):
    """Thread replies and reactions on other messages: the engine is asked first, so no users.info call."""
    await bot.event(payloads.thread_reply("U0ADA", "lunch at noon?", CHANNEL, "1700000000.000100"))
    await bot.event(payloads.reaction_added("U0BRIAN", "one", CHANNEL, "1700000000.000200"))
    assert fake.to("users.info") == []
    rnd = await bot.deliver_daily()
    ts = rnd.message_id.split(":", 1)[1]
    await bot.event(payloads.thread_reply("U0ADA", "self-attention weighs every token", CHANNEL, ts))
    assert [c.args["user"] for c in fake.to("users.info")] == ["U0ADA"]  # a round's thread: looked up once
