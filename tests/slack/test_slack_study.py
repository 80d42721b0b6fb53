"""/quiz topic (fuzzy) and /quiz broken on Slack."""

from __future__ import annotations

import slack_payloads as payloads
from slack_fake import TEAM
from slack_rig import CHANNEL, bank

from bot.models import Place

PLACE = Place("slack", TEAM, CHANNEL)



async def test_topic_on_slack_matches_loosely_and_suggests_when_unknown(bot, fake):
    _reply, key = await bot.command("topic tokenisation")
    [asked] = fake.responses_to(key)
    rnd = bot.store.open_personal_round(PLACE, "U0ADA")
    assert rnd.kind == "personal" and bank().get(rnd.question_id).topic == "Tokenization"
    assert "Tokenization" in asked["blocks"][0]["text"]["text"]
    _reply, key = await bot.command("topic retrieval")
    [said] = fake.responses_to(key)
    assert "No topic matches" in said["text"] and "Advanced retrieval" in said["text"]
    assert "Retrieval and knowledge" in said["text"]





async def test_broken_on_slack_is_for_admins_and_skips_the_question(bot, fake):
    _reply, key = await bot.command("broken basic-what-is-a-token")
    assert "is for admins" in fake.responses_to(key)[0]["text"]
    tokenization = [q.id for q in bank().questions if q.topic == "Tokenization"]
    for qid in tokenization[1:]:
        await bot.command(f"broken {qid} wrong key", user="U0DANA")
    assert set(bot.store.broken_questions()) == set(tokenization[1:])
    for user in ("U0ADA", "U0BRIAN", "U0CHEN"):
        await bot.command("topic tokenization", user=user)
        assert bot.store.open_personal_round(PLACE, user).question_id == tokenization[0]
    _reply, key = await bot.command("broken", user="U0DANA")
    assert all(qid in fake.responses_to(key)[0]["text"] for qid in tokenization[1:])
