"""An open-ended question on Slack: no reactions, answered in the thread or the modal, graded at the reveal."""

from __future__ import annotations

import slack_payloads as payloads
from slack_rig import CHANNEL, REPO, block_text, start_bot

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
