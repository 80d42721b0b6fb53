"""The team features on Slack (issue 16): /quiz forget-me with its button, /quiz flag, the /quiz suggest modal (a
broken field comes back into the form: response_action "errors"), /quiz suggestions, seasons, the reminder in the
round's thread and the user group pinged on the daily post."""

from __future__ import annotations

import copy
import json

import slack_payloads as payloads
from slack_fake import TEAM
from slack_rig import CHANNEL, block_text

from bot.models import Place
from tests.conftest import GOOD_SUGGESTION


def _actions(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def click_command(user: str, element: dict, key: str, fake) -> dict:
    body = payloads.block_action(user, element["action_id"], CHANNEL, "1.2", fake.response_url(key))
    body["actions"][0]["value"] = element["value"]
    return body


def submitted(user: str, view: dict, values: dict) -> dict:
    """A view_submission of the suggest modal as Slack sends it: the view as opened, with the typed state."""
    body = payloads.sample("view_submission")
    body["user"].update(id=user, team_id=TEAM)
    body["team"]["id"] = TEAM
    body["view"] = copy.deepcopy(view) | {"team_id": TEAM, "id": "V0MODAL"}
    state = {}
    for key, value in values.items():
        if key == "level":
            state[key] = {key: {"type": "static_select", "selected_option": {"value": value}}}
        else:
            state[key] = {key: {"type": "plain_text_input", "value": value}}
    body["view"]["state"] = {"values": state}
    return body


async def test_forget_me_with_its_button_and_for_an_unknown_member(bot, fake):
    await bot.command("forget-me", user="U0BRIAN")
    [nothing] = fake.responses_to("cmd-1")
    assert "nothing to delete" in nothing["text"] and not _actions(nothing["blocks"])

    await bot.command("advanced")  # Ada is known now: a private question
    _, key = await bot.command("forget-me")
    [asked] = fake.responses_to(key)
    assert asked["response_type"] == "ephemeral" and "Delete your data?" in asked["text"]
    [button] = _actions(asked["blocks"])
    assert button["action_id"] == "studybot:cmd:0" and button["value"] == "forget-me confirm"
    assert bot.store.member_data("U0ADA", "slack")["private question"] == 1

    await bot.interact(click_command("U0ADA", button, "confirm", fake))
    [done] = fake.responses_to("confirm")
    assert "Deleted your name, the text of your answers" in block_text(done["blocks"])
    assert not any(bot.store.member_data("U0ADA", "slack").values())


async def test_flag_twice_counts_once_and_admins_see_the_reports(bot, fake):
    rnd = await bot.deliver_daily()
    _, key = await bot.command("flag the key looks wrong", user="U0BRIAN")
    assert f"`{rnd.question_id}`" in fake.responses_to(key)[0]["text"]
    _, key = await bot.command("flag", user="U0BRIAN")
    assert "already" in fake.responses_to(key)[0]["text"]
    assert len(bot.store.open_flags("slack", TEAM, rnd.question_id)) == 1
    _, key = await bot.command("flags", user="U0DANA")  # a workspace admin
    said = "\n".join(r["text"] for r in fake.responses_to(key))
    assert "A member reported question" in said and "the key looks wrong" in said


async def test_suggest_modal_errors_stay_in_the_form_then_an_admin_rejects_with_a_reason(bot, fake):
    _, key = await bot.command("suggest")
    assert not fake.responses_to(key)  # the answer is the form
    [opened] = fake.to("views.open")
    view = opened.args["view"]
    assert view["callback_id"] == "studybot:suggest" and len(view["title"]["text"]) <= 24
    assert [b["block_id"] for b in view["blocks"]] == ["level", "topic", "question", "choices", "correct", "answer",
                                                       "key_points"]
    assert view["blocks"][0]["element"]["initial_option"]["value"] == "basic"
    assert json.loads(view["private_metadata"])["draft"] is not None

    broken = {**GOOD_SUGGESTION, "key_points": "only one point", "correct": "9"}
    reply = await bot.interact(submitted("U0ADA", view, broken))
    answer = json.loads(reply.body)
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"correct", "key_points"} and "needs 3 to 6" in answer["errors"]["key_points"]
    assert bot.store.suggestions_of("slack", TEAM, "pending") == []

    reply = await bot.interact(submitted("U0ADA", view, GOOD_SUGGESTION))
    assert reply.body == ""  # the modal closes
    [pending] = bot.store.suggestions_of("slack", TEAM, "pending")
    assert pending["id"] == json.loads(view["private_metadata"])["draft"]

    _, key = await bot.command(f"suggestions reject {pending['id']} the bank has one like it", user="U0DANA")
    assert any("Rejected" in r["text"] for r in fake.responses_to(key))
    await bot.settle()
    [dm] = [c for c in fake.to("chat.postMessage") if c.args["channel"].startswith("D")]
    assert dm.args["channel"] == "D0ADA" and "the bank has one like it" in dm.args["text"]


async def test_a_season_reminder_and_the_user_group_pinged_on_the_daily_post(bot, fake):
    _, key = await bot.command("setup season=quarterly remind=30m ping=<!subteam^S0FANS|@quiz-fans>", user="U0DANA")
    assert "Saved" in fake.responses_to(key)[-1]["text"]
    _, key = await bot.command("setup ping=@quiz-fans", user="U0DANA")  # not escaped: no id to mention
    assert "is not a user group" in fake.responses_to(key)[-1]["text"]

    rnd = await bot.deliver_daily()
    [post] = [c for c in fake.to("chat.postMessage") if c.args.get("blocks")]
    blocks = json.loads(post.args["blocks"]) if isinstance(post.args["blocks"], str) else post.args["blocks"]
    assert blocks[0]["text"]["text"] == "<!subteam^S0FANS>"
    assert post.args["text"].startswith("<!subteam^S0FANS> ")

    await bot.event(payloads.reaction_added("U0BRIAN", "one", *rnd.message_id.split(":")))
    bot.clock.advance(3600 - 30 * 60)
    await bot.scheduler.remind(rnd.id)
    [reminder] = [c for c in fake.to("chat.postMessage") if "so far" in c.args.get("text", "")]
    assert reminder.args["thread_ts"] == rnd.message_id.split(":")[1]
    assert "30 minutes left, 1 answer so far" in reminder.args["text"]

    bot.clock.advance(30 * 60)
    await bot.scheduler.safety_net()  # the reveal
    _, key = await bot.command("leaderboard season")
    assert "Leaderboard: season Q" in fake.responses_to(key)[0]["text"]

    month = bot.clock.now.month
    bot.clock.now = bot.clock.now.replace(year=bot.clock.now.year + (month > 9), month=(month - 1) // 3 * 3 % 12 + 4
                                          if month <= 9 else 1, day=1, hour=0, minute=0)  # the next quarter
    await bot.scheduler.season_end("slack", TEAM)
    [ended] = [c for c in fake.to("chat.postMessage") if "is over" in c.args.get("text", "")]
    assert ended.args["channel"] == CHANNEL and "starts now" in ended.args["text"]
    assert Place("slack", TEAM, CHANNEL).channel == ended.args["channel"]
