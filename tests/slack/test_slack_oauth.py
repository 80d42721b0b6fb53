"""Slack OAuth distribution: two workspaces install the app through /slack/install and /slack/oauth_redirect,
each gets its own token and its own daily round; one uninstalls: its schedule stops, its data stays."""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import slack_payloads as payloads
import yaml
from slack_fake import CLIENT_ID, CLIENT_SECRET, FakeSlack
from slack_rig import REPO, Clock, bank, settings_for_test, sign

from adapters.slack import SlackAdapter
from adapters.slack.oauth import SCOPES, SignedStates
from bot.config import ConfigError, load_settings
from bot.runtime import build_runtime
from bot.store import Store

STATE_SECRET = "a-long-random-state-secret-for-tests"
TEAMS = {"T0AAAA": "C0AAAA", "T0BBBB": "C0BBBB"}  # workspace -> its quiz channel


class OAuthBot:
    def __init__(self, tmp_path: Path, fake: FakeSlack) -> None:
        self.fake = fake
        self.settings = replace(settings_for_test(tmp_path, fake), slack_bot_token=None, slack_channel=None,
                                slack_client_id=CLIENT_ID, slack_client_secret=CLIENT_SECRET,
                                slack_state_secret=STATE_SECRET, daily_at="09:00", weekly_at="mon 09:00")
        self.store = Store.open(self.settings.db_path)
        self.adapter = SlackAdapter(self.settings, host="127.0.0.1", store=self.store)
        self.runtime = build_runtime(self.settings, bank(), self.store, adapters={"slack": self.adapter},
                                     clock=Clock(), rng=random.Random(5))
        self.scheduler = self.runtime.scheduler
        self.session = aiohttp.ClientSession()

    async def start(self) -> OAuthBot:
        await self.adapter.start(self.runtime.router)
        await self.scheduler.start()
        return self

    async def close(self) -> None:
        self.scheduler.shutdown()
        await self.adapter.stop()
        await self.session.close()
        self.store.close()

    @property
    def base(self) -> str:
        assert self.adapter.http is not None
        return f"http://127.0.0.1:{self.adapter.http.port}"

    async def install(self, team: str, code: str | None = None) -> tuple[int, str]:
        """What an installer's browser does: the install page, Slack's consent (skipped), the redirect back."""
        async with self.session.get(self.base + "/slack/install") as page:
            assert page.status == 200
            html = await page.text()
            cookie = page.cookies.get("slack-app-oauth-state")
        link = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', html)
        assert link and cookie is not None, html
        query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
        assert query["client_id"] == [CLIENT_ID] and set(query["scope"][0].split(",")) == set(SCOPES)
        state = query["state"][0]
        assert state == cookie.value
        params = {"code": code or f"code-{team}", "state": state}
        headers = {"Cookie": f"slack-app-oauth-state={state}"}
        async with self.session.get(self.base + "/slack/oauth_redirect", params=params, headers=headers) as back:
            return back.status, await back.text()

    async def post(self, body: str, content_type: str) -> int:
        headers = {"Content-Type": content_type, **sign(body)}
        async with self.session.post(self.base + "/slack/events", data=body.encode(), headers=headers) as reply:
            status = reply.status
        assert await self.adapter.settled(10)
        return status

    async def setup(self, team: str, channel: str) -> None:
        body = payloads.slash("setup channel=here time=09:00 days=* season=monthly", "U0DANA", channel,
                              self.fake.response_url(f"setup-{team}"))
        body["team_id"] = team
        assert await self.post(payloads.form(body), "application/x-www-form-urlencoded") == 200

    async def event(self, team: str, event: dict) -> int:
        body = {"token": "XXYYZZ", "team_id": team, "api_app_id": "A0STUDY", "event": event,
                "type": "event_callback", "event_id": payloads.new_event_id(), "event_time": 1700000000}
        return await self.post(json.dumps(body), "application/json")


@pytest.fixture
async def oauth_bot(tmp_path, fake):
    bot = await OAuthBot(tmp_path, fake).start()
    yield bot
    await bot.close()


async def test_two_workspaces_install_each_with_its_token_and_round_then_one_uninstalls(oauth_bot, fake):
    bot = oauth_bot
    for team in TEAMS:
        status, page = await bot.install(team)
        assert status == 200 and "Thank you" in page, page
    assert len(fake.to("oauth.v2.access")) == 2
    rows = {r["team_id"]: r for r in bot.store.rows("SELECT * FROM slack_installations")}
    assert set(rows) == set(TEAMS)
    assert {rows[t]["bot_token"] for t in TEAMS} == {fake.token_of(t) for t in TEAMS}  # each its own
    assert all(fake.token_of(t) not in rows[t]["installation"] for t in TEAMS)  # the token in its column only

    # Each workspace sets its channel, and gets its own daily round, posted with its own token.
    for team, channel in TEAMS.items():
        await bot.setup(team, channel)
        assert any("Saved" in r.get("text", "") for r in fake.responses_to(f"setup-{team}")), fake.responses
        assert bot.scheduler.scheduler.get_job(f"daily:slack:{team}") is not None
        assert bot.scheduler.scheduler.get_job(f"season:slack:{team}") is not None
    for team in TEAMS:
        await bot.scheduler.daily("slack", team)
    posts = [c for c in fake.to("chat.postMessage") if not c.args.get("thread_ts")]
    assert sorted((c.args["channel"], c.team) for c in posts) == sorted((ch, t) for t, ch in TEAMS.items())

    # The first workspace uninstalls the app: its schedule stops, its rows stay.
    fake.revoke("T0AAAA")
    assert await bot.event("T0AAAA", {"type": "app_uninstalled"}) == 200
    await bot.scheduler.poll()  # every replica's next look at the database (within POLL_SECONDS)
    assert bot.scheduler.scheduler.get_job("daily:slack:T0AAAA") is None
    assert bot.scheduler.scheduler.get_job("weekly:slack:T0AAAA") is None
    assert bot.scheduler.scheduler.get_job("season:slack:T0AAAA") is None
    assert bot.scheduler.scheduler.get_job("daily:slack:T0BBBB") is not None
    await bot.scheduler.daily("slack", "T0AAAA")  # another replica's job, before its poll: posts nothing
    assert len([c for c in fake.to("chat.postMessage") if not c.args.get("thread_ts")]) == 2
    kept = bot.store.rows("SELECT workspace, channel, active FROM workspaces WHERE workspace = 'T0AAAA'")
    assert kept == [{"workspace": "T0AAAA", "channel": "C0AAAA", "active": 0}]
    assert len(bot.store.rows("SELECT id FROM rounds WHERE workspace = 'T0AAAA'")) == 1
    [gone] = bot.store.rows("SELECT bot_token, uninstalled_at FROM slack_installations WHERE team_id = 'T0AAAA'")
    assert gone["bot_token"] is None and gone["uninstalled_at"] is not None
    assert bot.adapter.workspaces.installation("T0AAAA") is None

    # The other revokes the bot's token: the same.
    assert await bot.event("T0BBBB", {"type": "tokens_revoked", "tokens": {"bot": ["U0BBBBB"]}}) == 200
    await bot.scheduler.poll()
    assert bot.scheduler.scheduler.get_job("daily:slack:T0BBBB") is None

    # Installed again: a new token, the same settings and history, the schedule back.
    status, _ = await bot.install("T0AAAA")
    assert status == 200
    await bot.scheduler.poll()
    assert bot.scheduler.scheduler.get_job("daily:slack:T0AAAA") is not None
    assert bot.adapter.workspaces.installation("T0AAAA").bot_token == fake.token_of("T0AAAA")


async def test_an_install_needs_a_state_this_bot_issued_and_used_once(oauth_bot, fake):
    bot = oauth_bot
    states = SignedStates(STATE_SECRET, bot.store)
    forged = SignedStates("another-secret-of-some-length", bot.store)
    good = await states.async_issue()
    assert not await states.async_consume(await forged.async_issue())  # signed with another secret
    assert not await states.async_consume("not.a-state")
    assert await SignedStates(STATE_SECRET, bot.store).async_consume(good)  # any replica can check it
    assert not await states.async_consume(good)  # once
    expired = SignedStates(STATE_SECRET, bot.store, seconds=-1)
    assert not await states.async_consume(await expired.async_issue())

    params = {"code": "code-T0CCCC", "state": await forged.async_issue()}
    async with bot.session.get(bot.base + "/slack/oauth_redirect", params=params,
                               headers={"Cookie": f"slack-app-oauth-state={params['state']}"}) as back:
        assert back.status in (400, 401)
    assert fake.to("oauth.v2.access") == [] and bot.store.rows("SELECT * FROM slack_installations") == []
    status, _ = await bot.install("T0CCCC", code="not-a-code")  # Slack refuses the code
    assert status in (400, 401) and bot.store.rows("SELECT * FROM slack_installations") == []


def test_the_install_asks_for_the_manifests_scopes():
    manifest = yaml.safe_load((REPO / "slack-manifest.yaml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(SCOPES)
    assert {"app_uninstalled", "tokens_revoked"} <= set(manifest["settings"]["event_subscriptions"]["bot_events"])


def test_oauth_settings_come_together():
    env = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET, "SLACK_STATE_SECRET": STATE_SECRET,
           "SLACK_SIGNING_SECRET": "s"}
    settings = load_settings(env, dotenv=None)
    assert settings.slack_oauth and settings.platforms == ["slack"] and settings.slack_bot_token is None
    assert STATE_SECRET in settings.secrets() and CLIENT_SECRET in settings.secrets()
    for missing in ("SLACK_CLIENT_SECRET", "SLACK_STATE_SECRET", "SLACK_CLIENT_ID"):
        with pytest.raises(ConfigError) as error:
            load_settings({k: v for k, v in env.items() if k != missing}, dotenv=None)
        assert error.value.setting == missing
    with pytest.raises(ConfigError) as error:
        load_settings({k: v for k, v in env.items() if k != "SLACK_SIGNING_SECRET"}, dotenv=None)
    assert error.value.setting == "SLACK_SIGNING_SECRET"
    with pytest.raises(ConfigError) as error:
        load_settings(env | {"SLACK_STATE_SECRET": "short"}, dotenv=None)
    assert error.value.setting == "SLACK_STATE_SECRET"
