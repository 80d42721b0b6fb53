"""Bad input and refusals: unknown subcommands, DMs, channels the bot cannot post in, things that vanished."""

from __future__ import annotations

import logging

from discord_rig import CHANNEL, GUILD, only_round, text_of

from bot.events import Kind, Outgoing
from bot.models import Member, Place

BOT_ROLE = "1100000000000000002"
SEND_MESSAGES = 1 << 11


async def test_unknown_subcommand_gets_the_valid_ones_privately(bot, discord_standin):
    # A subcommand Discord may still show (a level since removed from the bank): not in our tree.
    token = await discord_standin.slash([{"name": "expert", "type": 1, "options": []}], CHANNEL)
    [reply] = await discord_standin.wait_replies(token)
    text = text_of(reply)
    assert "Unknown level or subcommand `expert`" in text
    assert "Valid levels: basic, intermediate, advanced, prompt-engineering, career" in text
    assert reply["flags"] & 64


async def test_a_command_in_a_direct_message_is_answered_clearly(bot, discord_standin):
    token = await discord_standin.slash([{"name": "advanced", "type": 1, "options": []}], "1700000000000000001",
                                        guild_id=None)
    [reply] = await discord_standin.wait_replies(token)
    assert "works in server channels, not in direct messages" in text_of(reply)
    assert bot.store.rows("SELECT * FROM rounds") == []


async def test_post_where_the_bot_cannot_post_says_what_is_missing(bot, discord_standin):
    admin = discord_standin.member("1300000000000000009", "Boss", admin=True)
    perms = 309237730368 & ~SEND_MESSAGES
    token = await discord_standin.slash([{"name": "post", "type": 1, "options": []}], CHANNEL, admin,
                                        app_permissions=perms)
    [reply] = await discord_standin.wait_replies(token)
    assert "I cannot post a round in this channel" in text_of(reply) and "Send Messages" in text_of(reply)
    assert not discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")
    assert bot.store.rows("SELECT * FROM rounds") == []


async def test_setup_with_a_channel_the_bot_cannot_see_is_answered_clearly(bot, discord_standin):
    admin = discord_standin.member("1300000000000000009", "Boss", admin=True)
    hidden = "1110000000000000404"  # resolved by Discord, but not among the channels the bot was given
    resolved = {"channels": {hidden: {"id": hidden, "name": "secret", "type": 0, "permissions": "0"}}}
    token = await discord_standin.slash([{"name": "setup", "type": 1, "options": [
        {"name": "channel", "type": 7, "value": hidden}]}], CHANNEL, admin, resolved=resolved)
    [reply] = await discord_standin.wait_replies(token)
    assert "I cannot use that channel" in text_of(reply) and reply["flags"] & 64
    assert bot.store.workspace("discord", GUILD) is None


async def test_post_and_setup_are_for_admins(bot, discord_standin):
    member = discord_standin.member("1300000000000000001", "Ada")
    for options in ([{"name": "post", "type": 1, "options": []}],
                    [{"name": "setup", "type": 1, "options": [{"name": "time", "type": 3, "value": "10:00"}]}]):
        token = await discord_standin.slash(options, CHANNEL, member)
        [reply] = await discord_standin.wait_replies(token)
        assert "is for admins" in text_of(reply)
    assert not discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")


async def test_setup_warns_when_the_chosen_channel_refuses_the_bot(start_bot, discord_standin):
    muted = discord_standin.add_channel(GUILD, "muted", "1110000000000000002")
    discord_standin.channels[muted]["permission_overwrites"] = [
        {"id": BOT_ROLE, "type": 0, "allow": "0", "deny": str(SEND_MESSAGES)}]
    bot = await start_bot()
    admin = discord_standin.member("1300000000000000009", "Boss", admin=True)
    resolved = {"channels": {muted: {"id": muted, "name": "muted", "type": 0, "permissions": "0", "parent_id": None}}}
    token = await discord_standin.slash([{"name": "setup", "type": 1, "options": [
        {"name": "channel", "type": 7, "value": muted}, {"name": "time", "type": 3, "value": "10:30"},
        {"name": "weekly", "type": 3, "value": "fri 16:00"}]}], CHANNEL, admin, resolved=resolved)
    replies = await discord_standin.wait_replies(token, 2)
    assert "Saved." in text_of(replies[0])
    assert f"cannot post the daily question in <#{muted}>" in text_of(replies[1])
    assert "Send Messages" in text_of(replies[1])
    saved = bot.engine.settings_for("discord", GUILD)
    assert (saved.channel, saved.daily_at, saved.weekly_at) == (muted, "10:30", "fri 16:00")


async def test_missing_permissions_when_the_daily_round_is_due(start_bot, discord_standin, caplog):
    bot = await start_bot(discord_channel=CHANNEL)
    discord_standin.forbidden.add(CHANNEL)
    with caplog.at_level(logging.WARNING):
        await bot.scheduler.daily("discord", GUILD)
    [refused] = discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")
    assert refused.status == 403
    assert any("delivery failed" in r.getMessage() and "Missing Permissions" in r.getMessage() for r in caplog.records)
    rnd = only_round(bot)
    assert rnd.message_id is None  # kept, unposted

    # The admin hears of it at their next /quiz command (and only an admin does).
    token = await discord_standin.slash([{"name": "help", "type": 1, "options": []}], CHANNEL,
                                        discord_standin.member("1300000000000000001", "Ada"))
    assert not any("⚠️" in text_of(r) for r in await discord_standin.wait_replies(token))
    admin = discord_standin.member("1300000000000000009", "Boss", admin=True)
    token = await discord_standin.slash([{"name": "help", "type": 1, "options": []}], CHANNEL, admin)
    replies = await discord_standin.wait_replies(token, 2)
    assert f"⚠️ I could not post in <#{CHANNEL}>" in text_of(replies[0]) and "Send Messages" in text_of(replies[0])

    # A retry while still refused loses nothing; once allowed, the same round is posted, once.
    await bot.scheduler.safety_net()
    discord_standin.forbidden.clear()
    await bot.scheduler.safety_net()
    await bot.scheduler.daily("discord", GUILD)  # the day's job firing again changes nothing
    posted = [c for c in discord_standin.find("POST", rf"/channels/{CHANNEL}/messages") if c.status == 200]
    assert len(posted) == 1
    assert discord_standin.messages[bot.store.round(rnd.id).message_id]["channel_id"] == CHANNEL
    assert len(bot.store.rows("SELECT * FROM rounds WHERE kind = 'daily'")) == 1


async def test_deleted_posts_threads_and_channels_and_members_who_left_crash_nothing(start_bot, discord_standin,
                                                                                    caplog):
    bot = await start_bot(discord_channel=CHANNEL)
    await bot.scheduler.daily("discord", GUILD)
    rnd = only_round(bot)

    # A member who left: the reaction event has no member object; it still counts under their id.
    await discord_standin.react(rnd.message_id, CHANNEL, "1️⃣", None, user_id="1300000000000000077")
    await discord_standin.wait_for(lambda: bot.store.answers(rnd.id), what="the answer of a member who left")
    # Reactions on other messages, and thread messages elsewhere, are not answers and break nothing.
    await discord_standin.react("1599999999999999999", CHANNEL, "2️⃣", discord_standin.member("13", "X"))

    # Someone deletes the round post (and with it its thread) before the reveal.
    discord_standin.delete_message(rnd.message_id)
    discord_standin.delete_channel(rnd.thread_id)
    bot.clock.advance(hours=2)
    with caplog.at_level(logging.INFO):
        await bot.scheduler.safety_net()
    [fallback] = [c for c in discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")
                  if c.body.get("message_reference")]
    assert fallback.status == 200 and fallback.body["message_reference"]["fail_if_not_exists"] is False
    assert "Answer:" in text_of(fallback.body)
    assert discord_standin.find("PATCH", rf"/channels/{CHANNEL}/messages/{rnd.message_id}")[0].status == 404
    assert not bot.store.round(rnd.id).is_open

    # The whole channel is deleted: the next round cannot go anywhere; the admins are told; nothing crashes.
    discord_standin.delete_channel(CHANNEL)
    admin = discord_standin.member("1300000000000000009", "Boss", admin=True)
    post = await discord_standin.slash([{"name": "post", "type": 1, "options": []}], "1110000000000000003", admin)
    await discord_standin.wait_replies(post)
    await bot.scheduler.daily("discord", GUILD)
    bot.clock.advance(hours=2)
    await bot.scheduler.safety_net()
    token = await discord_standin.slash([{"name": "help", "type": 1, "options": []}], CHANNEL, admin)
    replies = await discord_standin.wait_replies(token, 2)
    assert any("is gone or hidden from me" in text_of(r) for r in replies)
    assert bot.adapter.healthy()


async def test_a_malformed_gateway_event_costs_that_event_only(bot, discord_standin, caplog):
    with caplog.at_level(logging.ERROR):
        await discord_standin.dispatch("INTERACTION_CREATE", {"id": "1", "type": 2})  # no token, no data, nothing
        await discord_standin.dispatch("MESSAGE_REACTION_ADD", {"emoji": {"name": "1️⃣"}})
        token = await discord_standin.slash([{"name": "help", "type": 1, "options": []}], CHANNEL)
        [reply] = await discord_standin.wait_replies(token)
    assert "studybot help" in text_of(reply)
    assert bot.adapter.healthy()
    assert any("malformed INTERACTION_CREATE" in r.getMessage() for r in caplog.records)


async def test_a_reminder_is_a_direct_message_and_other_private_messages_need_an_interaction(bot, discord_standin):
    ada = Member("discord", "1300000000000000001", "Ada")
    place = Place("discord", GUILD, CHANNEL)
    await bot.router.deliver([
        Outgoing(Kind.REMINDER, place, "You have 2 questions due for review: run `/quiz review`.", to=ada,
                 title="Review reminder"),
        Outgoing(Kind.FEEDBACK, place, "Your answer 2 is locked in.", to=ada),  # no interaction at hand: dropped
    ])
    [dm] = discord_standin.find("POST", r"/users/@me/channels")
    assert str(dm.body["recipient_id"]) == ada.user_id
    [sent] = [c for c in discord_standin.calls if c.method == "POST" and c.path.startswith("/channels/")]
    assert "questions due for review" in text_of(sent.body)


async def test_odd_and_huge_written_answers_lose_nothing_and_mention_nobody(start_bot, discord_standin):
    bot = await start_bot(discord_channel=CHANNEL, discord_message_content=True)
    await bot.scheduler.daily("discord", GUILD)
    rnd = only_round(bot)
    ada = discord_standin.member("1300000000000000001", "@everyone <@1300000000000000002>")
    odd = "@everyone <@&1100000000000000001> " + "\u202e\u0000 zalgo ̷̢͓ " * 300
    token = await discord_standin.submit_form(f"studybot:answer:{rnd.id}", odd[:4000], CHANNEL, ada)
    assert "Saved" in text_of((await discord_standin.wait_replies(token))[0])
    await discord_standin.say_in_thread(rnd.thread_id, "", discord_standin.member("1300000000000000002", "Grace"))
    bot.clock.advance(hours=2)
    await bot.scheduler.safety_net()
    [reveal] = discord_standin.find("POST", rf"/channels/{rnd.thread_id}/messages")
    assert "@everyone" not in text_of(reveal.body).replace("@\u200beveryone", "")
    for call in discord_standin.calls:
        if (call.method in ("POST", "PATCH") and isinstance(call.body, dict)
                and ("embeds" in call.body or "content" in call.body)):
            assert call.body.get("allowed_mentions") == {"parse": []}, call.path
