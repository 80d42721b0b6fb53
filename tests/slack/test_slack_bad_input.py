"""What Slack or members may send that is wrong, repeated, odd or refused: handled, nothing lost, no crash."""

from __future__ import annotations

import json
import time

import slack_payloads as payloads
from slack_fake import TEAM
from slack_rig import CHANNEL, bank, block_text, sign

from adapters.slack.ids import CHOICE_REACTIONS
from bot.models import Place


async def _open_round(bot):
    rnd = await bot.deliver_daily()
    return rnd, rnd.message_id.split(":", 1)[1], bank().get(rnd.question_id)


async def test_a_retried_event_is_processed_once(bot, fake):
    rnd, ts, question = await _open_round(bot)
    reaction = payloads.reaction_added("U0ADA", CHOICE_REACTIONS[question.correct - 1], CHANNEL, ts)
    reply = payloads.thread_reply("U0BRIAN", "attention runs in parallel", CHANNEL, ts)
    for body in (reaction, reply):
        assert (await bot.event(body)).status == 200
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        assert (await bot.event(payloads.copy_of(body), headers=retry)).status == 200
    answers = bot.answers(rnd.id)
    assert answers["U0ADA"].choice == question.correct and answers["U0BRIAN"].text == "attention runs in parallel"
    notes = [block_text(c.args["blocks"]) for c in fake.to("chat.postEphemeral")]
    assert len(notes) == 2  # one confirmation each, no "already answered" from a replay
    assert not any("first answer" in n or "already sent" in n for n in notes)


async def test_bad_signatures_get_401_and_change_nothing(bot, fake):
    rnd, ts, _question = await _open_round(bot)
    calls_before = len(fake.calls)
    body = json.dumps(payloads.reaction_added("U0ADA", "one", CHANNEL, ts))
    forged = sign(body, secret="not-the-secret")
    stale = sign(body, timestamp=int(time.time()) - 600)  # a replay from ten minutes ago
    for headers in (forged, stale, {}):
        reply = await bot.post(body, "application/json", headers=headers, signed=False)
        assert reply.status == 401
    command = payloads.form(payloads.slash("post", "U0DANA", CHANNEL, fake.response_url("x")))
    assert (await bot.post(command, "application/x-www-form-urlencoded", forged, signed=False)).status == 401
    await bot.settle()
    assert bot.answers(rnd.id) == {}
    assert len(bot.store.open_channel_rounds()) == 1
    assert len(fake.calls) == calls_before and not fake.responses


async def test_unknown_level_or_subcommand_lists_the_valid_ones(bot, fake):
    for text in ("expert", "frobnicate now", "post legendary"):
        _, key = await bot.command(text)
        [answer] = fake.responses_to(key)
        assert answer["response_type"] == "ephemeral"
        assert "advanced" in answer["text"] and "basic" in answer["text"]
    assert not fake.to("chat.postMessage") and not bot.store.open_channel_rounds()


async def test_quiz_post_in_a_channel_without_the_bot_says_how_to_invite_it(bot, fake):
    fake.channel_errors["C0OTHER"] = "not_in_channel"
    _, key = await bot.command("post", user="U0DANA", channel="C0OTHER")
    said = " ".join(r["text"] for r in fake.responses_to(key))
    assert "/invite @studybot" in said and "posted within a minute" in said
    [waiting] = [r for r in bot.store.open_channel_rounds() if r.place.channel == "C0OTHER"]
    assert waiting.message_id is None  # not lost: kept for the retry

    _, key = await bot.command("help", user="U0DANA")  # the admin hears about it at the next command
    assert any("⚠️" in r["text"] and "C0OTHER" in r["text"] for r in fake.responses_to(key))

    del fake.channel_errors["C0OTHER"]  # someone ran /invite @studybot
    await bot.router.deliver(bot.engine.rounds.unposted_rounds())
    assert bot.store.round(waiting.id).message_id is not None
    assert [c.args["channel"] for c in fake.to("chat.postMessage")] == ["C0OTHER"]


async def test_posts_to_an_archived_or_missing_channel_are_reported_to_admins(bot, fake):
    fake.channel_errors[CHANNEL] = "is_archived"
    await bot.router.deliver(bot.engine.rounds.daily_round("slack", TEAM))  # no crash
    [rnd] = bot.store.open_channel_rounds()
    assert rnd.message_id is None
    _, key = await bot.command("help", user="U0DANA")
    assert "archived" in fake.responses_to(key)[0]["text"]

    fake.channel_errors["C0GONE"] = "channel_not_found"
    _, key = await bot.command("post", user="U0DANA", channel="C0GONE")
    assert "/invite @studybot" in " ".join(r["text"] for r in fake.responses_to(key))
    _, key = await bot.command("help", user="U0DANA")
    assert "C0GONE was not found" in fake.responses_to(key)[0]["text"]
    _, key = await bot.command("help", user="U0ADA")
    assert "⚠️" not in " ".join(r["text"] for r in fake.responses_to(key))  # admins only


async def test_ratelimited_calls_wait_for_retry_after(bot, fake):
    fake.rate_limits["chat.postMessage"] = 1
    fake.retry_after = 1
    rnd = await bot.deliver_daily()
    first, second = fake.attempts("chat.postMessage")
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 1.0
    assert rnd.message_id is not None and len(fake.to("reactions.add")) == len(bank().get(rnd.question_id).choices)


async def test_reactions_elsewhere_edits_bots_deletions_and_archives_are_ignored(bot, fake):
    rnd, ts, _question = await _open_round(bot)
    posted = len(fake.to("chat.postMessage"))
    ignored = [
        payloads.reaction_added("U0ADA", "one", CHANNEL, "1111111111.000001"),  # not a round post
        payloads.reaction_added("U0ADA", "one", "C0ELSEWHERE", ts),  # same ts, other channel
        payloads.reaction_added("U0ADA", "thumbsup", CHANNEL, ts),  # not a choice
        payloads.message_changed("U0ADA", CHANNEL, ts),
        payloads.message_deleted("U0ADA", CHANNEL, ts),
        payloads.bot_message(CHANNEL, ts),
        payloads.channel_archived("U0ADA", CHANNEL),
        payloads.thread_reply("U0ADA", "a reply in some other thread", CHANNEL, "1111111111.000001"),
    ]
    top_level = payloads.thread_reply("U0ADA", "top-level chatter", CHANNEL, ts)
    top_level["event"]["thread_ts"] = top_level["event"]["ts"]  # a thread's root, not a reply
    for body in [*ignored, top_level]:
        assert (await bot.event(body)).status == 200
    assert bot.answers(rnd.id) == {}
    assert not fake.to("chat.postEphemeral") and len(fake.to("chat.postMessage")) == posted


async def test_huge_and_odd_input_gets_a_clear_answer(bot, fake):
    _, key = await bot.command("advanced " * 2000)
    assert "characters long" in fake.responses_to(key)[0]["text"]
    _, key = await bot.command("\u0000\u202e<@U0DANA> &amp; 🤖")
    assert "Unknown level or subcommand" in fake.responses_to(key)[0]["text"]

    rnd, ts, _ = await _open_round(bot)
    await bot.event(payloads.thread_reply("U0BRIAN", "x" * 120_000, CHANNEL, ts))
    assert "keep it under" in block_text(fake.to("chat.postEphemeral")[-1].args["blocks"])
    assert "U0BRIAN" not in bot.answers(rnd.id)  # refused, so a proper answer can still come
    await bot.event(payloads.thread_reply("U0BRIAN", "", CHANNEL, ts))
    assert "empty answer" in block_text(fake.to("chat.postEphemeral")[-1].args["blocks"])


async def test_malformed_payloads_are_answered_without_harm(bot, fake):
    rnd, ts, _ = await _open_round(bot)
    garbage = await bot.post("{not json", "application/json")
    assert garbage.status < 500
    unknown_button = payloads.block_action("U0ADA", "studybot:pick:not-a-number", CHANNEL, ts, fake.response_url("b"))
    assert (await bot.interact(unknown_button)).status == 200
    other_app = payloads.block_action("U0ADA", "someone-elses-button", CHANNEL, ts, fake.response_url("b"))
    assert (await bot.interact(other_app)).status == 200
    broken_form = payloads.view_submission("U0ADA", rnd.id, "words", None, CHANNEL)
    broken_form["view"]["private_metadata"] = "{]"
    assert (await bot.interact(broken_form)).status == 200
    other_round = payloads.block_action("U0ADA", "studybot:pick:99999:1", CHANNEL, ts, fake.response_url("c"))
    assert (await bot.interact(other_round)).status == 200
    no_user = payloads.slash("help", "", CHANNEL, fake.response_url("d"))
    assert (await bot.post(payloads.form(no_user), "application/x-www-form-urlencoded")).status == 200
    await bot.settle()
    assert bot.answers(rnd.id) == {} and not fake.responses
    assert bot.adapter.healthy()


async def test_unknown_members_and_dms_are_handled(bot, fake):
    rnd, ts, _question = await _open_round(bot)
    await bot.event(payloads.reaction_added("U0GUEST", CHOICE_REACTIONS[0], CHANNEL, ts))  # users.info: not found
    assert bot.answers(rnd.id)["U0GUEST"].name == "U0GUEST"
    _, key = await bot.command("advanced", channel="D0ADA")
    assert "not in direct messages" in fake.responses_to(key)[0]["text"]
    assert bot.store.open_personal_round(Place("slack", TEAM, "D0ADA"), "U0ADA") is None


async def test_url_verification_is_answered(bot):
    body = payloads.sample("url_verification")
    reply = await bot.post(json.dumps(body), "application/json")
    assert reply.status == 200 and body["challenge"] in reply.body
