"""The Slack app as a whole: its manifest, the runtime serving /healthz beside /slack/events, big reveals."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import replace

import aiohttp
import pytest
import slack_payloads as payloads
import yaml
from slack_fake import APP_TOKEN, TEAM
from slack_rig import CHANNEL, REPO, REVEAL_AFTER, bank, block_text, settings_for_test, sign

from adapters.slack import SlackAdapter, render
from adapters.slack.ids import CHOICE_REACTIONS
from bot.config import ConfigError
from bot.questions import load_bank
from bot.runtime import build_runtime
from bot.store import Store


def test_manifest_declares_what_the_adapter_needs():
    manifest = yaml.safe_load((REPO / "slack-manifest.yaml").read_text(encoding="utf-8"))
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/quiz" and command["url"].endswith("/slack/events")
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "chat:write", "commands", "reactions:read", "reactions:write", "channels:history", "groups:history",
        "users:read", "im:write", "files:write"}
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "reaction_added", "message.channels", "message.groups", "app_home_opened", "app_uninstalled", "tokens_revoked"}
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"] == settings["event_subscriptions"]["request_url"]
    assert settings["socket_mode_enabled"] is False
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


async def test_runtime_serves_health_and_metrics_on_the_slack_port(tmp_path, fake):
    settings = settings_for_test(tmp_path, fake)
    store = Store.open(settings.db_path)
    runtime = build_runtime(settings, load_bank(settings.questions_path), store,
                            adapters={"slack": SlackAdapter(settings, host="127.0.0.1")})
    running = asyncio.create_task(runtime.run())
    adapter = runtime.adapters["slack"]
    try:
        for _ in range(500):
            if adapter.healthy() and runtime.scheduler.healthy():
                break
            await asyncio.sleep(0.01)
        base = f"http://127.0.0.1:{adapter.http.port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(base + "/healthz") as response:
                assert response.status == 200
                assert json.loads(await response.text()) == {"ok": True, "checks": {"slack": True, "scheduler": True}}
            async with session.get(base + "/metrics") as response:
                assert response.status == 200 and "studybot_rounds_posted_total" in await response.text()
            body = payloads.form(payloads.slash("help", "U0ADA", CHANNEL, fake.response_url("rt")))
            headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
            async with session.post(base + "/slack/events", data=body, headers=headers) as response:
                assert response.status == 200
        await adapter.settled()
        assert "/quiz leaderboard" in block_text(fake.responses_to("rt")[0]["blocks"])
    finally:
        runtime.stop_event.set()
        assert await asyncio.wait_for(running, 10) == 0
    assert not adapter.healthy()


async def test_a_crowded_reveal_stays_within_block_kit_limits(bot, fake):
    rnd = await bot.deliver_daily()
    ts = rnd.message_id.split(":", 1)[1]
    question = bank().get(rnd.question_id)
    for n in range(60):  # long display names make the reveal's name lists long
        user = f"U0CROWD{n:02d}"
        fake.users[user] = {"name": user.lower(), "display_name": f"Member {n:02d} " + "with a long name " * 4,
                            "is_admin": False, "is_owner": False}
        reaction = CHOICE_REACTIONS[(n % len(question.choices))]
        await bot.event(payloads.reaction_added(user, reaction, CHANNEL, ts))
        if n % 2:
            await bot.event(payloads.thread_reply(user, "; ".join(question.key_points), CHANNEL, ts))
    bot.clock.advance(REVEAL_AFTER + 1)
    await bot.router.deliver(bot.engine.rounds.reveal_due())
    reveal = [c for c in fake.to("chat.postMessage") if c.args.get("thread_ts") == ts]
    assert reveal
    sections = [b for call in reveal for b in call.args["blocks"] if b["type"] == "section"]
    assert len(sections) > 1  # too long for one section: split
    assert all(len(call.args["blocks"]) <= render.MAX_BLOCKS for call in reveal)
    assert all(len(s["text"]["text"]) <= render.SECTION_LIMIT for s in sections)
    shown = "\n".join(block_text(call.args["blocks"]) for call in reveal)
    assert "and 5 more" in shown and "*Key points:*" in shown  # the whole reveal arrived, in order
    assert len(bot.store.standings("slack", TEAM, None, 100)) == 60


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_wrong_tokens_or_an_unreachable_api_stop_the_start_with_the_setting_named(tmp_path, fake):
    settings = settings_for_test(tmp_path, fake)
    nowhere = f"http://127.0.0.1:{_closed_port()}/api/"
    cases = [
        (replace(settings, slack_bot_token="xoxb-revoked-secret"), "SLACK_BOT_TOKEN"),
        (replace(settings, slack_app_token="xapp-1-wrong-secret"), "SLACK_APP_TOKEN"),
        (replace(settings, slack_app_token=APP_TOKEN, slack_api_url=nowhere), "SLACK_API_URL"),
    ]
    for bad, setting in cases:
        adapter = SlackAdapter(bad, host="127.0.0.1")
        with pytest.raises(ConfigError) as raised:
            await adapter.start(None)  # type: ignore[arg-type]
        assert raised.value.setting == setting
        assert "secret" not in str(raised.value)  # never echo a token
        assert not adapter.healthy()
        await adapter.stop()


async def test_no_bolt_warning_about_the_token_at_start(tmp_path, fake, monkeypatch, caplog):
    """Docker passes SLACK_BOT_TOKEN in the environment, where bolt reads it by itself and used to warn."""
    from slack_fake import BOT_TOKEN

    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    adapter = SlackAdapter(settings_for_test(tmp_path, fake))
    with caplog.at_level("WARNING"):
        app = adapter._bolt_app()
    assert app is not None
    assert not [r for r in caplog.records if "will be unused" in r.getMessage()]
