"""An open-ended question on Discord: the level is registered, no reactions, the form and the thread, the reveal."""

from __future__ import annotations

import json
from pathlib import Path

from discord_rig import CHANNEL, GUILD, custom_ids_of, only_round, text_of

from bot.models import Place
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


async def test_a_private_written_answer_is_graded_by_the_judge_behind_discords_thinking(start_bot, discord_standin):
    """The form's submission is deferred ("thinking...") at once; the judge's grade comes as the follow-up."""
    from aiohttp import web

    asked: list[dict] = []
    answered_before: list[list[int]] = []  # the interaction callbacks' types when the judge was asked

    async def chat(request: web.Request) -> web.Response:
        asked.append(await request.json())
        answered_before.append([c.body["type"] for c in discord_standin.find("POST", r"/interactions/.+/callback")])
        content = json.dumps({"covered": [1], "missed": [2, 3], "misconceptions": [], "verdict": "partial",
                              "feedback": "Say what the cache stores."})
        return web.json_response({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1"
        bot = await start_bot(questions=OPEN_BANK, judge_url=url, judge_model="m")
        ada = discord_standin.member("1300000000000000001", "Ada")
        token = await discord_standin.slash([{"name": "system-design", "type": 1, "options": []}], CHANNEL, ada)
        [asked_message] = await discord_standin.wait_replies(token)
        rnd = bot.store.open_personal_round(Place("discord", GUILD, CHANNEL), ada["user"]["id"])
        question = OPEN_BANK.get(rnd.question_id)
        token = await discord_standin.click(asked_message, f"studybot:write:{rnd.id}", user=ada, channel_id=CHANNEL)
        [form] = await discord_standin.wait_replies(token)
        token = await discord_standin.submit_form(form["custom_id"], "cache the answers", CHANNEL, user=ada)
        [graded] = await discord_standin.wait_replies(token)
        assert graded["flags"] & 64
        text = text_of(graded)
        assert f"made 1 of {len(question.key_points)} key points" in text
        assert "Judge: Say what the cache stores." in text
        assert len(asked) == 1 and "cache the answers" in asked[0]["messages"][-1]["content"]
        assert answered_before[0][-2:] == [9, 5]  # the form opened, then its submission deferred: then the judge
        stored = bot.store.answer(rnd.id, ada["user"]["id"])
        assert stored.found[0] and not any(stored.found[1:])
    finally:
        await runner.cleanup()
