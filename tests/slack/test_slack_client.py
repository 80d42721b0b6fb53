"""Slack's refusals in admin words, the users.info cache, and the memory of seen events."""

from __future__ import annotations

import pytest
from slack_fake import BOT_TOKEN, TEAM
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack import client as slack_client
from adapters.slack.client import Directory, Workspaces, delivery_error
from adapters.slack.dedupe import KEEP_SECONDS, RecentEvents
from bot.ports import DeliveryError


def _refusal(code: str, **extra) -> SlackApiError:
    response = AsyncSlackResponse(client=None, http_verb="POST", api_url="https://slack.com/api/chat.postMessage",
                                  req_args={}, data={"ok": False, "error": code, **extra}, headers={},
                                  status_code=429 if code == "ratelimited" else 200)
    return SlackApiError(code, response)


@pytest.mark.parametrize(("code", "words", "retryable"), [
    ("not_in_channel", "/invite @studybot", True),
    ("channel_not_found", "was not found", False),
    ("is_archived", "is archived", False),
    ("ratelimited", "retried", True),
    ("missing_scope", "chat:write", False),
    ("token_revoked", "SLACK_BOT_TOKEN", False),
    ("msg_too_long", "msg_too_long", False),
])
def test_refusals_are_worded_for_admins(code, words, retryable):
    error = delivery_error(_refusal(code, needed="chat:write"), "C0STUDY")
    assert words in error.problem and error.retryable is retryable


async def test_users_info_is_cached_briefly(fake):
    workspaces = Workspaces(BOT_TOKEN, fake.api_url)
    await workspaces.connect()
    now = [0.0]
    directory = Directory(workspaces, clock=lambda: now[0])
    dana = await directory.profile(TEAM, "U0DANA")
    assert (dana.name, dana.is_admin) == ("Dana", True)
    fake.users["U0DANA"]["is_admin"] = False  # demoted
    assert (await directory.profile(TEAM, "U0DANA")).is_admin is True  # still cached
    now[0] += slack_client.USER_CACHE_SECONDS + 1
    assert (await directory.profile(TEAM, "U0DANA")).is_admin is False
    assert len(fake.to("users.info")) == 2
    assert (await directory.profile(TEAM, "U0OWEN")).is_admin is True  # owners count as admins


async def test_an_unknown_workspace_has_no_client(fake):
    workspaces = Workspaces(BOT_TOKEN, fake.api_url)
    await workspaces.connect()
    assert workspaces.installation(TEAM).bot_user_id == "U0BOT"
    with pytest.raises(DeliveryError) as raised:
        workspaces.client_for("T0OTHER")
    assert "not installed" in str(raised.value)
    authorize = workspaces.bolt_authorize()
    assert await authorize(enterprise_id=None, team_id="T0OTHER") is None
    found = await authorize(enterprise_id=None, team_id=TEAM)
    assert found.bot_token == BOT_TOKEN and found.bot_user_id == "U0BOT"


def test_seen_events_are_remembered_for_an_hour():
    now = [0.0]
    seen = RecentEvents(clock=lambda: now[0])
    assert seen.first_time("Ev1") and not seen.first_time("Ev1") and seen.first_time("Ev2")
    now[0] += KEEP_SECONDS + 1
    assert seen.first_time("Ev1")
