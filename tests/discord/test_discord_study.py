"""/quiz topic with its autocomplete, and /quiz broken with its, on Discord."""

from __future__ import annotations

from discord_rig import CHANNEL, GUILD, text_of

from bot.models import Place

PLACE = Place("discord", GUILD, CHANNEL)
ADA = ("1300000000000000001", "Ada")







async def test_topic_autocomplete_offers_the_banks_topics(bot, discord_standin):
    ada = discord_standin.member(*ADA)
    typing = [{"name": "topic", "type": 1, "options": [{"name": "topic", "type": 3, "value": "tokeni", "focused": True}]}]
    [offered] = await discord_standin.wait_replies(await discord_standin.autocomplete(typing, CHANNEL, ada))
    assert offered["callback_type"] == 8
    names = [c["value"] for c in offered["choices"]]
    assert names[0] == "Tokenization" and len(names) <= 25
    chosen = [{"name": "topic", "type": 1, "options": [{"name": "topic", "type": 3, "value": "Tokenization"}]}]
    [asked] = await discord_standin.wait_replies(await discord_standin.slash(chosen, CHANNEL, ada))
    assert asked["flags"] & 64 and "Tokenization" in asked["embeds"][0]["title"]
    rnd = bot.store.open_personal_round(PLACE, ADA[0])
    assert rnd.kind == "personal" and bot.engine.bank.get(rnd.question_id).topic == "Tokenization"
    typed = [{"name": "topic", "type": 1, "options": [{"name": "topic", "type": 3, "value": "embedingz stuff"}]}]
    [said] = await discord_standin.wait_replies(await discord_standin.slash(typed, CHANNEL, ada))
    assert "No topic matches" in text_of(said) and "`Embeddings`" in text_of(said)



async def test_broken_with_its_autocomplete(bot, discord_standin):
    boss = discord_standin.member("1300000000000000009", "Boss", admin=True)
    qid = bot.engine.bank.questions[0].id
    typing = [{"name": "broken", "type": 1, "options": [{"name": "question", "type": 3, "value": qid[:6],
                                                          "focused": True}]}]
    [offered] = await discord_standin.wait_replies(await discord_standin.autocomplete(typing, CHANNEL, boss))
    assert qid in [c["value"] for c in offered["choices"]]
    mark = [{"name": "broken", "type": 1, "options": [{"name": "question", "type": 3, "value": qid},
                                                      {"name": "reason", "type": 3, "value": "two right answers"}]}]
    [said] = await discord_standin.wait_replies(await discord_standin.slash(mark, CHANNEL, boss))
    assert f"Marked `{qid}` broken (two right answers)" in text_of(said)
    assert bot.store.broken_questions()[qid]["reason"] == "two right answers"
    ada = discord_standin.member(*ADA)
    [refused] = await discord_standin.wait_replies(await discord_standin.slash(mark, CHANNEL, ada))
    assert "is for admins" in text_of(refused)
