"""The Slack Web API side: a client per workspace, member look-ups, and Slack's refusals in admin words.

Every token look-up goes through `Workspaces.installation(team_id)`, and bolt's
`authorize` calls the same: the workspace of SLACK_BOT_TOKEN, and with OAuth
(SLACK_CLIENT_ID...) every workspace that installed the app, from the database
(adapters/slack/oauth.py stores them there).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.ports import DeliveryError

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3  # each waits Slack's Retry-After
CONNECTION_RETRIES = 2
USER_CACHE_SECONDS = 300.0  # admin flags and names change rarely; five minutes of staleness is fine
USER_CACHE_SIZE = 2000


def web_client(token: str | None, base_url: str) -> AsyncWebClient:
    """A Web API client that waits out `ratelimited` (HTTP 429 + Retry-After) and retries dropped connections."""
    handlers = [
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        AsyncConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
    ]
    return AsyncWebClient(token=token, base_url=_with_slash(base_url), retry_handlers=handlers)


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


# ---- workspaces ------------------------------------------------------------------------


@dataclass(frozen=True)
class Installation:
    team_id: str
    bot_token: str
    bot_user_id: str
    bot_id: str | None
    bot_name: str


InstallationLookup = Callable[[str], "Installation | None"]  # team id -> its installation in the database
INSTALLED_CACHE_SECONDS = 30.0  # an installation read from the database; an uninstall elsewhere shows within this


class Workspaces:
    def __init__(self, bot_token: str | None, api_url: str, installed: InstallationLookup | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`bot_token`: SLACK_BOT_TOKEN's workspace; `installed`: the workspaces installed through OAuth."""
        self.api_url = api_url
        self._token = bot_token
        self._installed = installed
        self._clock = clock
        self._installations: dict[str, Installation] = {}  # SLACK_BOT_TOKEN's workspace
        self._found: dict[str, tuple[float, Installation | None]] = {}  # from the database, briefly
        self._clients: dict[str, AsyncWebClient] = {}  # by token: a reinstall's new token gets a new client

    async def connect(self) -> Installation:
        """auth.test with the configured token: which workspace it belongs to, and the bot's own ids."""
        if not self._token:
            raise RuntimeError("no SLACK_BOT_TOKEN to connect with")
        reply = await web_client(self._token, self.api_url).auth_test()
        found = Installation(reply["team_id"], self._token, reply["user_id"], reply.get("bot_id"),
                             reply.get("user") or "studybot")
        self._installations[found.team_id] = found
        return found

    def installation(self, team_id: str | None) -> Installation | None:
        team = team_id or ""
        found = self._installations.get(team)
        if found is not None or self._installed is None or not team:
            return found
        cached = self._found.get(team)
        if cached is not None and self._clock() - cached[0] < INSTALLED_CACHE_SECONDS:
            return cached[1]
        found = self._installed(team)
        self._found[team] = (self._clock(), found)
        return found

    def forget(self, team_id: str) -> None:
        """The workspace's installation changed (installed, uninstalled): read it again at the next look-up."""
        self._found.pop(team_id, None)

    def client_for(self, team_id: str) -> AsyncWebClient:
        found = self.installation(team_id)
        if found is None:
            raise DeliveryError(f"studybot is not installed in Slack workspace {team_id}.")
        if found.bot_token not in self._clients:
            self._clients[found.bot_token] = web_client(found.bot_token, self.api_url)
        return self._clients[found.bot_token]

    def bolt_authorize(self):
        """bolt's `authorize` hook: the bot token for the workspace a request came from.

        A plain function, not a method: bolt passes arguments by the names it reads off the signature.
        """

        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult | None:
            found = self.installation(team_id)
            if found is None:
                log.warning("a Slack request from workspace %s, where studybot has no token", team_id)
                return None
            return AuthorizeResult(enterprise_id=enterprise_id, team_id=found.team_id, bot_token=found.bot_token,
                                   bot_user_id=found.bot_user_id, bot_id=found.bot_id)

        return authorize


# ---- members --------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    name: str
    is_admin: bool  # a workspace admin or owner


class Directory:
    """users.info, cached briefly: display names for the board, admin flags for admin commands."""

    def __init__(self, workspaces: Workspaces, clock=time.monotonic) -> None:
        self.workspaces = workspaces
        self.clock = clock
        self._cache: dict[tuple[str, str], tuple[float, Profile]] = {}

    async def profile(self, team_id: str, user_id: str, fallback_name: str | None = None) -> Profile:
        key = (team_id, user_id)
        hit = self._cache.get(key)
        if hit is not None and self.clock() - hit[0] < USER_CACHE_SECONDS:
            return hit[1]
        try:
            reply = await self.workspaces.client_for(team_id).users_info(user=user_id)
        except (SlackApiError, DeliveryError) as error:
            log.warning("users.info for %s failed: %s", user_id, error_code(error))
            return Profile(fallback_name or user_id, False)  # not cached: the next command asks again
        profile = _profile(reply.get("user") or {}, fallback_name or user_id)
        if len(self._cache) >= USER_CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = (self.clock(), profile)
        return profile


def _profile(user: dict, fallback: str) -> Profile:
    details = user.get("profile") or {}
    name = details.get("display_name") or details.get("real_name") or user.get("real_name") or user.get("name")
    return Profile(name or fallback, bool(user.get("is_admin") or user.get("is_owner")))


# ---- refusals ----------------------------------------------------------------------------


def error_code(error: Exception) -> str:
    """Slack's error code ("not_in_channel", "ratelimited", ...) of a failed call."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or error.response.status_code)
    return str(error)


def invite_hint(channel: str, bot_name: str, after: str = "then try again.") -> str:
    return (f"studybot is not in channel {channel}. Invite it with `/invite @{bot_name}` in that channel "
            f"(or mention @{bot_name} there and accept Slack's offer to add it), {after}")


ROUND_WAITS = "and the round waiting for it is posted within a minute."


def delivery_error(error: SlackApiError, channel: str, bot_name: str = "studybot") -> DeliveryError:
    """A Slack refusal as a DeliveryError whose problem a workspace admin can act on."""
    code = error_code(error)
    if code == "not_in_channel":
        return DeliveryError(invite_hint(channel, bot_name, "and rounds waiting for it are posted within a minute."),
                             retryable=True)
    if code == "channel_not_found":
        return DeliveryError(f"Slack channel {channel} was not found: it was deleted, or it is private and "
                             f"studybot is not in it. Invite it with `/invite @{bot_name}`, or run "
                             "`/quiz setup channel=here` in the channel to use.")
    if code == "is_archived":
        return DeliveryError(f"Slack channel {channel} is archived. Unarchive it, or run `/quiz setup channel=here` "
                             "in another channel.")
    if code in ("ratelimited", "rate_limited"):
        return DeliveryError("Slack kept rate-limiting studybot; the message will be retried.", retryable=True)
    if code == "missing_scope":
        needed = error.response.get("needed") or "a scope"
        return DeliveryError(f"studybot's Slack app lacks the scope {needed}: update the app from "
                             "slack-manifest.yaml and reinstall it to the workspace.")
    if code in ("invalid_auth", "token_revoked", "account_inactive", "not_authed"):
        return DeliveryError("Slack no longer accepts studybot's bot token (SLACK_BOT_TOKEN): reinstall the app "
                             "and set the new token.")
    return DeliveryError(f"Slack refused a message to channel {channel}: {code}.")
