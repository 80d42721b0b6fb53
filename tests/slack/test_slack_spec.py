"""The requests studybot makes and the payloads the tests feed, checked against Slack's published specs.

The specs live beside the repo (../shared/specs); without them these tests skip: the bot and the
rest of the suite never depend on them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import slack_payloads as payloads
import yaml
from slack_fake import FakeSlack
from slack_rig import CHANNEL, REPO, REVEAL_AFTER, bank, start_bot

from adapters.slack.ids import CHOICE_REACTIONS
from bot.events import Kind, Outgoing
from bot.models import Member, Place

SPECS = REPO.parent / "shared" / "specs"
WEB_SPEC = SPECS / "slack-web-openapi-v2.json"
EVENTS_SPEC = SPECS / "slack-events-api-async-v1.json"
# Newer than the published spec files: Socket Mode's URL method and the Home tab event.
NOT_IN_WEB_SPEC = {"apps.connections.open"}
NOT_IN_EVENTS_SPEC = {"app_home_opened"}
LEGACY_SCOPES = {"chat:write:bot": "chat:write", "chat:write:user": "chat:write"}


@cache
def _load(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def spec(path: Path) -> dict:
    loaded = _load(path)
    if loaded is None:
        pytest.skip(f"{path} is not there (the specs sit beside the repo, in ../shared/specs)")
    return loaded


def _operation(web: dict, method: str) -> dict:
    path = web["paths"].get("/" + method)
    assert path is not None, f"{method} is not a Web API method in the spec"
    return next(iter(path.values()))


async def _scenario(tmp_path: Path, fake: FakeSlack) -> None:
    """Every kind of Web API call the adapter makes: a round, answers, the form, the reveal, Home, a DM."""
    bot = await start_bot(tmp_path, fake)
    try:
        rnd = await bot.deliver_daily()
        ts = rnd.message_id.split(":", 1)[1]
        correct = bank().get(rnd.question_id).correct
        await bot.event(payloads.reaction_added("U0ADA", CHOICE_REACTIONS[correct - 1], CHANNEL, ts))
        await bot.event(payloads.thread_reply("U0BRIAN", "parallel attention", CHANNEL, ts))
        await bot.interact(payloads.block_action("U0CHEN", f"studybot:write:{rnd.id}", CHANNEL, ts,
                                                 fake.response_url("w")))
        await bot.interact(payloads.view_submission("U0CHEN", rnd.id, "my words", None, CHANNEL))
        await bot.command("advanced")
        bot.clock.advance(REVEAL_AFTER + 1)
        await bot.router.deliver(bot.engine.rounds.reveal_due())
        await bot.event(payloads.app_home_opened("U0ADA"))
        await bot.router.deliver([Outgoing(Kind.REMINDER, Place("slack", "T0STUDY", CHANNEL), "Reviews are due.",
                                           to=Member("slack", "U0ADA", "Ada"))])
    finally:
        await bot.close()


async def test_web_api_calls_match_the_openapi_spec(tmp_path, fake):
    web = spec(WEB_SPEC)
    await _scenario(tmp_path, fake)
    made = {call.method for call in fake.calls}
    assert {"auth.test", "chat.postMessage", "reactions.add", "users.info", "chat.postEphemeral", "views.open",
            "chat.update", "views.publish", "conversations.open"} <= made
    for call in fake.calls:
        if call.method in NOT_IN_WEB_SPEC:
            continue
        parameters = _operation(web, call.method)["parameters"]
        known = {p["name"] for p in parameters} - {"token"}
        required = {p["name"] for p in parameters if p.get("required")} - {"token"}
        sent = set(call.args) - {"token"}
        assert sent <= known, f"{call.method}: {sorted(sent - known)} are not in the spec"
        assert required <= sent, f"{call.method}: missing {sorted(required - sent)}"
        if "blocks" in call.args:
            assert isinstance(call.args["blocks"], list) and call.args["blocks"]


def test_the_stand_in_answers_with_the_spec_required_fields():
    web = spec(WEB_SPEC)
    stand_in = FakeSlack()
    args = {"channel": CHANNEL, "ts": "1.2", "text": "x", "user": "U0ADA", "users": "U0ADA", "name": "one",
            "timestamp": "1.2", "view": {"type": "home", "blocks": []}, "user_id": "U0ADA", "trigger_id": "t"}
    for method in ("auth.test", "users.info", "chat.postMessage", "chat.postEphemeral", "chat.update",
                   "reactions.add", "views.open", "views.publish", "conversations.open", "conversations.info"):
        body = getattr(stand_in, "m_" + method.replace(".", "_"))(dict(args))
        schema = _operation(web, method)["responses"]["200"]["schema"]
        missing = set(schema.get("required", [])) - set(body)
        assert not missing, f"the stand-in's {method} lacks {sorted(missing)}"


def _fed_events() -> list[dict]:
    samples = [payloads.sample(p.stem) for p in sorted(payloads.SAMPLES.glob("event_*.json"))]
    built = [payloads.reaction_added("U0ADA", "one", CHANNEL, "1.2"),
             payloads.thread_reply("U0ADA", "words", CHANNEL, "1.2"),
             payloads.message_changed("U0ADA", CHANNEL, "1.2"), payloads.message_deleted("U0ADA", CHANNEL, "1.2"),
             payloads.bot_message(CHANNEL, "1.2"), payloads.channel_archived("U0ADA", CHANNEL),
             payloads.app_home_opened("U0ADA")]
    return samples + built


def _topic(event: dict) -> str:
    if event["type"] == "message":
        return {"channel": "message.channels", "group": "message.groups"}.get(event.get("channel_type"), "message")
    return event["type"].replace("_", ".")


_JSON_TYPES = {"string": str, "integer": int, "object": dict, "array": list, "boolean": bool}


def test_fed_event_payloads_match_the_events_spec():
    events = spec(EVENTS_SPEC)
    wrapper = events["components"]["schemas"]["GenericEventWrapper"]
    for body in _fed_events():
        assert set(wrapper["required"]) <= set(body), body["event"]["type"]
        for key, rule in wrapper["properties"].items():
            if key in body and rule.get("type") in _JSON_TYPES:
                assert isinstance(body[key], _JSON_TYPES[rule["type"]]), key
        assert set(wrapper["properties"]["event"]["required"]) <= set(body["event"])
        if body["event"]["type"] not in NOT_IN_EVENTS_SPEC:
            assert _topic(body["event"]) in events["topics"], body["event"]["type"]


def test_manifest_events_exist_and_have_the_scopes_they_need():
    events = spec(EVENTS_SPEC)
    manifest = yaml.safe_load((REPO / "slack-manifest.yaml").read_text(encoding="utf-8"))
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for name in manifest["settings"]["event_subscriptions"]["bot_events"]:
        if name in NOT_IN_EVENTS_SPEC:
            continue
        topic = events["topics"].get(name.replace("_", "."))
        assert topic is not None, name
        needed = set(topic["subscribe"].get("x-scopes-required", []))
        assert needed <= scopes, f"{name} needs {sorted(needed - scopes)}"


def test_manifest_scopes_cover_every_web_api_method_the_adapter_uses():
    web = spec(WEB_SPEC)
    manifest = yaml.safe_load((REPO / "slack-manifest.yaml").read_text(encoding="utf-8"))
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for method in ("chat.postMessage", "chat.postEphemeral", "chat.update", "reactions.add", "users.info",
                   "views.open", "views.publish", "conversations.open"):
        for rule in _operation(web, method).get("security", []):
            # Any one of the listed scopes will do; the spec still uses the old names of chat:write.
            accepted = {LEGACY_SCOPES.get(name, name) for name in rule.get("slackAuth", [])}
            assert "none" in accepted or accepted & scopes, f"{method} needs one of {sorted(accepted)}"
