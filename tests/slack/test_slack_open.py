"""An open-ended question on Slack: no reactions, answered in the thread or the modal, graded at the reveal."""

from __future__ import annotations

import asyncio
import json

import slack_payloads as payloads
from aiohttp import web
from slack_rig import CHANNEL, REPO, TEAM, block_text, start_bot

from bot.models import Place
from bot.questions import load_bank

OPEN_BANK = load_bank(REPO / "tests" / "data" / "open_bank.yaml")


async def test_an_open_round_on_slack(tmp_path, fake):
    bot = await start_bot(tmp_path, fake, questions=OPEN_BANK)
    try:
        await bot.command("post system-design", user="U0DANA")  # an admin
        [post] = [c for c in fake.to("chat.postMessage") if c.args.get("channel") == CHANNEL]
        rnd = bot.store.open_channel_rounds()[-1]
        question = OPEN_BANK.get(rnd.question_id)
        shown = block_text(post.args["blocks"])
        assert question.is_open and "own words" in shown and "React with" not in shown and "*1.*" not in shown
        assert fake.to("reactions.add") == []  # nothing to click
        [actions] = [b for b in post.args["blocks"] if b["type"] == "actions"]
        assert [e["action_id"] for e in actions["elements"]] == [f"studybot:write:{rnd.id}"]

        ts = rnd.message_id.split(":", 1)[1]
        await bot.event(payloads.reaction_added("U0ADA", "one", CHANNEL, ts))  # a reaction is not an answer
        await bot.event(payloads.thread_reply("U0ADA", question.answer, CHANNEL, ts))
        await bot.event(payloads.thread_reply("U0BRIAN", "More GPUs.", CHANNEL, ts))
        answers = bot.answers(rnd.id)
        assert set(answers) == {"U0ADA", "U0BRIAN"} and answers["U0ADA"].choice is None

        bot.clock.advance(rnd.deadline.timestamp() - bot.clock().timestamp() + 1)
        await bot.scheduler.safety_net()
        await bot.settle()
        reveal = [c for c in fake.to("chat.postMessage") if c.args.get("thread_ts") == ts
                  and "Model answer" in block_text(c.args.get("blocks", []))]
        assert reveal, "no reveal in the thread"
        text = block_text(reveal[0].args["blocks"])
        assert "Picks" not in text and "key points (missed:" in text
        assert bot.answers(rnd.id)["U0ADA"].points > 0 and bot.answers(rnd.id)["U0BRIAN"].points == 0
    finally:
        await bot.close()


async def test_a_private_written_answer_is_acknowledged_at_once_then_graded_by_the_judge(tmp_path, fake):
    """Slack wants the modal's submission answered within 3 s: it is, while the judge is still thinking; the grade
    comes to the response_url when the judge answers."""
    asked: list[dict] = []
    answer_now = asyncio.Event()

    async def chat(request: web.Request) -> web.Response:
        asked.append(await request.json())
        await answer_now.wait()
        content = json.dumps({"covered": [2], "missed": [1, 3], "misconceptions": [], "verdict": "partial",
                              "feedback": "Name what is sharded."})
        return web.json_response({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1"
    bot = await start_bot(tmp_path, fake, questions=OPEN_BANK, judge_url=url, judge_model="m")
    try:
        _reply, key = await bot.command("system-design")
        rnd = bot.store.open_personal_round(Place("slack", TEAM, CHANNEL), "U0ADA")
        question = OPEN_BANK.get(rnd.question_id)
        submission = payloads.view_submission("U0ADA", rnd.id, "shard the index", fake.response_url(key), CHANNEL)
        ack = await bot.post(payloads.interaction_form(submission), "application/x-www-form-urlencoded")
        assert ack.status == 200 and ack.seconds < 3
        await asyncio.wait_for(_until(lambda: asked), 5)
        shown = len(fake.responses_to(key))  # the question itself
        answer_now.set()
        await bot.settle()
        [graded] = fake.responses_to(key)[shown:]
        text = block_text(graded["blocks"])
        assert f"made 1 of {len(question.key_points)} key points" in text and "Judge: Name what is sharded." in text
        assert "shard the index" in asked[0]["messages"][-1]["content"]
    finally:
        answer_now.set()
        await bot.close()
        await runner.cleanup()


async def _until(ready) -> None:
    while not ready():
        await asyncio.sleep(0.01)
