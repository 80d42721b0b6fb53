"""The REST calls the bot makes, checked against Discord's OpenAPI description (skipped without ../shared)."""

from __future__ import annotations

import re

import pytest
from discord_rig import CHANNEL, GUILD, only_round
from discord_spec import SPEC, DiscordSpec

from bot.events import Kind, Outgoing
from bot.models import Member, Place

# Keys discord.py 2.7 adds on its own to every such request (not studybot's choice) that this version of the
# OpenAPI file leaves out; Discord accepts them. Anything else undocumented fails the test.
LIBRARY_KEYS = (
    re.compile(r"PUT /applications/.*/commands: undocumented body\[\d+\]\.nsfw"),  # app command "nsfw": false
    re.compile(r".*: undocumented body\.embeds\[\d+\]\.flags"),  # Embed.to_dict() writes "flags": 0
    re.compile(r"PATCH /channels/.*: undocumented body\.tts"),  # message edits carry "tts": false
)

pytestmark = pytest.mark.skipif(not SPEC.is_file(), reason=f"{SPEC} is not there (../shared is optional)")


async def _every_kind_of_call(bot, standin) -> None:
    """A day on Discord that makes every kind of REST call the bot knows."""
    ada = standin.member("1300000000000000001", "Ada")
    admin = standin.member("1300000000000000009", "Boss", admin=True)
    await bot.scheduler.daily("discord", GUILD)  # the post; its reactions and thread follow
    await bot.adapter.delivery.settle(5)
    rnd = only_round(bot)
    await standin.react(rnd.message_id, CHANNEL, "1️⃣", ada)
    await standin.say_in_thread(rnd.thread_id, "attention replaced recurrence", standin.member("13000002", "Grace"))
    click = await standin.click(standin.messages[rnd.message_id], f"studybot:write:{rnd.id}", user=ada)
    [form] = await standin.wait_replies(click)  # a modal
    await standin.wait_replies(await standin.submit_form(form["custom_id"], "my words", CHANNEL, ada))
    token = await standin.slash([{"name": "advanced", "type": 1, "options": []}], CHANNEL, ada)
    [question] = await standin.wait_replies(token)  # defer, then a follow-up with buttons
    personal = question["components"][0]["components"][0]["custom_id"]
    await standin.wait_replies(await standin.click(question, personal, user=ada, channel_id=CHANNEL))
    await standin.wait_replies(await standin.slash([{"name": "setup", "type": 1, "options": [
        {"name": "time", "type": 3, "value": "10:00"}]}], CHANNEL, admin))
    token = await standin.slash([{"name": "bogus", "type": 1, "options": []}], CHANNEL, ada)
    await standin.wait_replies(token)
    bot.clock.advance(hours=2)
    await bot.scheduler.safety_net()  # reveal in the thread, post edited closed
    place = Place("discord", GUILD, CHANNEL)
    await bot.router.deliver([Outgoing(Kind.REMINDER, place, "due", to=Member("discord", ada["user"]["id"], "Ada")),
                              Outgoing(Kind.BOARD, place, "board", title="Leaderboard")])


async def test_rest_calls_match_discords_openapi_description(start_bot, discord_standin):
    spec = DiscordSpec()
    bot = await start_bot(discord_channel=CHANNEL, discord_message_content=True)
    await _every_kind_of_call(bot, discord_standin)
    await bot.stop()
    guild_bot = await start_bot(discord_guild_id=GUILD)  # a guild-only command sync
    await guild_bot.stop()

    problems, seen = [], set()
    for call in discord_standin.calls:
        operation = spec.operation(call.method, call.path)
        if operation is None:
            problems.append(f"{call.method} {call.path}: no such operation in the spec")
            continue
        seen.add(f"{call.method} {operation.template}")
        unknown_query = set(call.query) - spec.query_names(operation)
        if unknown_query:
            problems.append(f"{call.method} {operation.template}: undocumented query {sorted(unknown_query)}")
        schema = spec.body_schema(operation)
        if call.body is not None and schema is None:
            problems.append(f"{call.method} {operation.template}: a body where none is documented")
        elif call.body is not None:
            found = [f"{call.method} {operation.template}: undocumented {p}"
                     for p in spec.problems(call.body, schema, "body")]
            problems += [p for p in found if not any(known.fullmatch(p) for known in LIBRARY_KEYS)]
        if call.status >= 400:
            problems.append(f"{call.method} {call.path}: the stand-in refused it ({call.status})")
    assert problems == [], "\n".join(problems)
    assert seen >= {
        "GET /users/@me", "GET /oauth2/applications/@me", "PUT /applications/{application_id}/commands",
        "PUT /applications/{application_id}/guilds/{guild_id}/commands",
        "POST /channels/{channel_id}/messages", "PATCH /channels/{channel_id}/messages/{message_id}",
        "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me",
        "POST /channels/{channel_id}/messages/{message_id}/threads",
        "POST /interactions/{interaction_id}/{interaction_token}/callback",
        "POST /webhooks/{webhook_id}/{webhook_token}", "POST /users/@me/channels",
    }


def test_the_checker_catches_an_undocumented_key():
    spec = DiscordSpec()
    operation = spec.operation("POST", "/channels/1/messages")
    schema = spec.body_schema(operation)
    assert spec.problems({"content": "hi", "embeds": [{"title": "t"}]}, schema, "body") == []
    assert spec.problems({"content": "hi", "colour_of_the_day": 1}, schema, "body") == ["body.colour_of_the_day"]
    assert spec.problems({"embeds": [{"titel": "t"}]}, schema, "body") == ["body.embeds[0].titel"]
    assert spec.operation("PUT", "/channels/1/messages/2/reactions/%E2%9C%85/@me").template.endswith("/@me")
