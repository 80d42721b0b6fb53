"""Slack OAuth distribution: the app installed in many workspaces, each with its own bot token.

With SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET set, slack-bolt's OAuth flow serves
/slack/install (a page with the "Add to Slack" link) and /slack/oauth_redirect (Slack sends the installer
back there with a code, exchanged through oauth.v2.access for the workspace's bot token). Here:

- DatabaseInstallations: bolt's installation store interface over the bot's own database (the
  `slack_installations` table, through the Store), so every replica finds every workspace's token;
- SignedStates: bolt's OAuth state store. A state is a nonce and an expiry signed with SLACK_STATE_SECRET,
  so any replica can check one another replica issued; it is used once (a claim in the database);
- TeamAuthorize: bolt's authorize, the same look-up the adapter's Workspaces makes for everything it sends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.installation_store import Installation as SlackInstallation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from adapters.slack.client import Installation, Workspaces
from adapters.slack.server import INSTALL_PATH, REDIRECT_PATH
from bot.store import Store

log = logging.getLogger(__name__)

# The bot scopes an install asks for: the manifest's (slack-manifest.yaml; a test keeps the two the same).
SCOPES = ("chat:write", "commands", "reactions:read", "reactions:write", "channels:history", "groups:history",
          "users:read", "im:write", "files:write")
STATE_SECONDS = 600  # how long an install link stays good
TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")

Now = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DatabaseInstallations(AsyncInstallationStore):
    """bolt's installation store, in the `slack_installations` table; one installation per workspace (team).

    `on_change(team_id, installed)` runs after an install or an uninstall, so the adapter updates its caches
    and the workspace's schedules.
    """

    def __init__(self, store: Store, now: Now = _utc_now,
                 on_change: Callable[[str, bool], None] | None = None) -> None:
        self.store = store
        self.now = now
        self.on_change = on_change

    @property
    def logger(self) -> logging.Logger:
        return log

    # ---- what bolt's OAuth flow calls ------------------------------------------------------------

    async def async_save(self, installation: SlackInstallation) -> None:
        team_id = installation.team_id
        if not team_id:  # an org-wide (Enterprise Grid) install: the manifest does not offer it
            raise ValueError("studybot installs in one workspace at a time (no org-wide installs)")
        record = installation.to_dict_for_copying()
        kept = {k: v for k, v in record.items() if k not in TOKEN_FIELDS}  # tokens live in their column only
        self.store.save_slack_installation(team_id, {
            "enterprise_id": installation.enterprise_id, "team_name": installation.team_name,
            "bot_token": installation.bot_token, "bot_user_id": installation.bot_user_id,
            "bot_id": installation.bot_id, "bot_scopes": ",".join(installation.bot_scopes or []),
            "installer": installation.user_id,
        }, json.dumps(kept, default=str), self.now())
        log.info("Slack: installed in workspace %s (%s)", team_id, installation.team_name)
        if self.on_change is not None:
            self.on_change(team_id, True)

    async def async_save_bot(self, bot: Bot) -> None:  # only token rotation calls this, and it is off
        raise NotImplementedError("token rotation is not used")

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        found = self.find(team_id)
        return found.to_bot() if found is not None else None

    async def async_find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                      user_id: str | None = None,
                                      is_enterprise_install: bool | None = False) -> SlackInstallation | None:
        return self.find(team_id)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.uninstalled(team_id)

    async def async_delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                        user_id: str | None = None) -> None:
        self.uninstalled(team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.uninstalled(team_id)

    # ---- what the adapter calls -----------------------------------------------------------------

    def find(self, team_id: str | None) -> SlackInstallation | None:
        row = self.store.slack_installation(team_id) if team_id else None
        if row is None or not row["bot_token"]:
            return None
        record: dict[str, Any] = json.loads(row["installation"])
        record["bot_token"] = row["bot_token"]
        return SlackInstallation(**record)

    def lookup(self, team_id: str) -> Installation | None:
        """The adapter's view of a workspace's installation (Workspaces' look-up)."""
        row = self.store.slack_installation(team_id)
        if row is None or not row["bot_token"]:
            return None
        return Installation(team_id, row["bot_token"], row["bot_user_id"] or "", row["bot_id"], "studybot")

    def uninstalled(self, team_id: str | None) -> bool:
        """The app left the workspace (app_uninstalled, tokens_revoked): its token is forgotten, the rest stays."""
        if not team_id:
            return False
        changed = self.store.slack_uninstalled(team_id, self.now())
        if changed:
            log.info("Slack: uninstalled from workspace %s; its data is kept", team_id)
        if self.on_change is not None:
            self.on_change(team_id, False)
        return changed


class SignedStates(AsyncOAuthStateStore):
    """OAuth states any replica can check: `nonce.expiry.signature`, signed with SLACK_STATE_SECRET (HMAC-SHA256),
    and good once: consuming one claims its nonce in the database until it expires."""

    def __init__(self, secret: str, store: Store, seconds: int = STATE_SECONDS, clock: Callable[[], float] = time.time,
                 holder: str = "oauth") -> None:
        self.secret = secret.encode()
        self.store = store
        self.seconds = seconds
        self.clock = clock
        self.holder = holder

    @property
    def logger(self) -> logging.Logger:
        return log

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        payload = f"{secrets.token_urlsafe(16)}.{int(self.clock()) + self.seconds}"
        return f"{payload}.{self._sign(payload)}"

    async def async_consume(self, state: str) -> bool:
        nonce, _, rest = (state or "").partition(".")
        expiry, _, signature = rest.partition(".")
        if not (nonce and expiry.isdigit() and signature):
            return False
        if not hmac.compare_digest(signature, self._sign(f"{nonce}.{expiry}")):
            log.warning("Slack OAuth: a state with a bad signature was refused")
            return False
        left = int(expiry) - self.clock()
        if left <= 0:
            return False
        now = datetime.fromtimestamp(self.clock(), UTC)
        return self.store.claim(f"slack-oauth-state:{nonce}", self.holder, now, left + 60)  # once, on any replica


class TeamAuthorize(AsyncAuthorize):
    """bolt's authorize: the bot token of the workspace a request came from (Workspaces' look-up)."""

    def __init__(self, workspaces: Workspaces) -> None:
        self.workspaces = workspaces

    async def __call__(self, *, context: Any, enterprise_id: str | None, team_id: str | None,
                       user_id: str | None, **_: Any) -> AuthorizeResult | None:
        found = self.workspaces.installation(team_id)
        if found is None:
            log.warning("a Slack request from workspace %s, where studybot is not installed", team_id)
            return None
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=found.team_id, bot_token=found.bot_token,
                               bot_user_id=found.bot_user_id, bot_id=found.bot_id, user_id=user_id)


def oauth_settings(client_id: str, client_secret: str, installations: DatabaseInstallations,
                   states: SignedStates) -> AsyncOAuthSettings:
    return AsyncOAuthSettings(
        client_id=client_id, client_secret=client_secret, scopes=list(SCOPES), user_scopes=[],
        install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
        installation_store=installations, installation_store_bot_only=True,
        state_store=states, state_expiration_seconds=STATE_SECONDS, logger=log,
    )
