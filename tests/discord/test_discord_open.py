"""An open-ended question on Discord: the level is registered, no reactions, the form and the thread, the reveal."""

from __future__ import annotations

from pathlib import Path

from discord_rig import CHANNEL, custom_ids_of, only_round, text_of

from bot.questions import load_bank

OPEN_BANK = load_bank(Path(__file__).resolve().parents[1] / "data" / "open_bank.yaml")


async def test_an_open_round_on_discord(start_bot, discord_standin):
    bot = await start_bot(questions=OPEN_BANK)
    [sync] = discord_standin.find("PUT", r"/applications/\d+/commands")
    assert "system-design" in [o["name"] for o in sync.body[0]["options"]]  # /quiz system-design exists

    admin = discord_standin.member("1300000000000000009", "Dana", admin=True)
    await discord_standin.slash([{"name": "post", "type": 1, "options": [
        {"name": "level", "type": 3, "value": "system-design"}]}], CHANNEL, user=admin)
    await discord_standin.wait_for(lambda: discord_standin.find("POST", rf"/channels/{CHANNEL}/messages"))
    [post] = discord_standin.find("POST", rf"/channels/{CHANNEL}/messages")
    await discord_standin.wait_for(lambda: only_round(bot).message_id, what="the post's id stored")
    rnd = only_round(bot)
    question = OPEN_BANK.get(rnd.question_id)
    description = post.body["embeds"][0]["description"]
    assert question.is_open and "own words" in description and "React with" not in description
    assert custom_ids_of(post.body) == [f"studybot:write:{rnd.id}"]
    await bot.adapter.delivery.settle(5)
    assert discord_standin.bot_reactions.get(rnd.message_id, []) == []

    ada = discord_standin.member("1300000000000000001", "Ada")
    token = await discord_standin.click(discord_standin.messages[rnd.message_id], f"studybot:write:{rnd.id}", user=ada)
    [form] = await discord_standin.wait_replies(token)
    token = await discord_standin.submit_form(form["custom_id"], question.answer, CHANNEL, user=ada)
    [saved] = await discord_standin.wait_replies(token)
    assert "Saved your written answer" in text_of(saved)

    bot.clock.advance(hours=2)
    await bot.scheduler.safety_net()
    [reveal] = discord_standin.find("POST", rf"/channels/{rnd.message_id}/messages")
    text = text_of(reveal.body)
    assert "Model answer" in text and "Picks" not in text and "Ada" in text
    [closed] = discord_standin.find("PATCH", rf"/channels/{CHANNEL}/messages/{rnd.message_id}")
    assert "key points are in the thread" in text_of(closed.body)
    assert bot.store.answers(rnd.id)[0].points > 0
