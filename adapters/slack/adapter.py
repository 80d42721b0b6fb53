"""SlackAdapter: the ChatAdapter for Slack (slack-bolt's AsyncApp), HTTP mode or Socket Mode.

It wires the parts: listeners (Slack -> translate -> engine), outbox (engine ->
render -> Web API), workspaces and directory (tokens, members), server (how
Slack reaches us). Game rules stay in the engine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from adapters.slack import render
from adapters.slack.client import Directory, Installation, Workspaces, error_code, web_client
from adapters.slack.dedupe import RecentEvents
from adapters.slack.listeners import register
from adapters.slack.oauth import DatabaseInstallations, SignedStates, TeamAuthorize, oauth_settings
from adapters.slack.outbox import Outbox, ReplyTo
from adapters.slack.server import INSTALL_PATH, HttpServer, SocketLink, events_app
from adapters.slack.translate import PLATFORM
from bot.config import ConfigError, Settings
from bot.events import Inbound, Outgoing
from bot.metrics import Metrics
from bot.models import Member, Place
from bot.ports import Hub, Sent
from bot.store import Store
from bot.texts import name_of

log = logging.getLogger(__name__)

SETTLE_ON_STOP = 3.0  # seconds in-flight listeners get to finish at stop
T = TypeVar("T")


class SlackAdapter:
    platform = PLATFORM
    attaches_images = False  # charts stay out: a file can only go to a direct message (files:write is for decks)

    def __init__(self, settings: Settings, host: str = "0.0.0.0", store: Store | None = None) -> None:
        """`store`: the bot's database, shared by the replicas (retried events seen by any of them; with OAuth,
        every workspace's installation)."""
        if not settings.slack:
            raise ConfigError("SLACK_BOT_TOKEN", "is needed for the Slack adapter (or SLACK_CLIENT_ID, "
                                                 "SLACK_CLIENT_SECRET and SLACK_STATE_SECRET for OAuth)")
        self.settings = settings
        self.store = store
        self.installations = (DatabaseInstallations(store, on_change=self._installation_changed)
                              if settings.slack_oauth and store is not None else None)
        self.workspaces = Workspaces(settings.slack_bot_token, settings.slack_api_url,
                                     self.installations.lookup if self.installations is not None else None)
        self.directory = Directory(self.workspaces)
        self.outbox = Outbox(self.workspaces)
        self.seen = RecentEvents(ledger=store)
        self.hub: Hub | None = None
        self.app: AsyncApp | None = None
        self.socket_mode = bool(settings.slack_app_token)
        # Built now, served at start(): the runtime adds /healthz and /metrics before that (add_health_routes).
        self.web_app = None if self.socket_mode else events_app(
            self._dispatch, self._oauth if self.installations is not None else None)
        self.http = None if self.web_app is None else HttpServer(self.web_app, host, settings.port)
        self.link: SocketLink | None = None
        self._busy: set[asyncio.Task] = set()

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self, hub: Hub) -> None:
        if self.settings.slack_oauth and self.installations is None:
            raise ValueError("Slack OAuth keeps the installations in the database: the adapter needs the store")
        self.hub = hub
        installed = await self._connect()
        if installed is not None:  # SLACK_BOT_TOKEN's workspace: installed, whatever an earlier uninstall said
            hub.set_workspace_active(PLATFORM, installed.team_id, True)
            if self.settings.slack_channel:
                hub.register_channel(PLATFORM, installed.team_id, self.settings.slack_channel)
        self.app = self._bolt_app()
        if self.socket_mode:
            assert self.settings.slack_app_token
            self.link = SocketLink(self.app, self.settings.slack_app_token)
            await self.link.start()
        else:
            assert self.http is not None
            await self.http.start()
        if installed is not None:
            log.info("Slack: workspace %s as %s (%s mode)", installed.team_id, installed.bot_name,
                     "Socket" if self.socket_mode else "HTTP")
        if self.installations is not None:
            log.info("Slack: OAuth installs at %s (port %s)", INSTALL_PATH, self.http.port if self.http else "?")

    async def check(self) -> None:
        """The tokens, checked before anything else starts; raises ConfigError naming the refused one."""
        await self._connect()

    async def _connect(self) -> Installation | None:
        """Check both tokens before serving: a wrong one stops the start with a message naming it.

        None without SLACK_BOT_TOKEN (OAuth alone: the workspaces come as they install the app)."""
        installed = None
        if self.settings.slack_bot_token:
            installed = await self._checked("SLACK_BOT_TOKEN", self.workspaces.connect())
        if self.settings.slack_app_token:
            # slack_sdk's Socket Mode client would retry a refused app token forever; ask once first.
            client = web_client(None, self.settings.slack_api_url)
            await self._checked("SLACK_APP_TOKEN",
                                client.apps_connections_open(app_token=self.settings.slack_app_token))
        return installed

    async def _checked(self, setting: str, call: Awaitable[T]) -> T:
        try:
            return await call
        except SlackApiError as error:
            raise ConfigError(setting, f"Slack refused the token ({error_code(error)})") from None
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise ConfigError("SLACK_API_URL", f"cannot reach Slack's Web API at {self.settings.slack_api_url} "
                                               f"({type(error).__name__})") from None

    def _bolt_app(self) -> AsyncApp:
        bolt_log = logging.getLogger("adapters.slack.bolt")
        if not any(isinstance(f, _TokenFromEnvironment) for f in bolt_log.filters):
            bolt_log.addFilter(_TokenFromEnvironment())
        oauth = None
        authorize = self.workspaces.bolt_authorize()
        if self.installations is not None:
            assert self.store is not None and self.settings.slack_state_secret and self.settings.slack_client_id
            assert self.settings.slack_client_secret
            authorize = TeamAuthorize(self.workspaces)  # bolt takes an AsyncAuthorize alongside its OAuth flow
            oauth = oauth_settings(self.settings.slack_client_id, self.settings.slack_client_secret,
                                   self.installations, SignedStates(self.settings.slack_state_secret, self.store))
        app = AsyncApp(
            name="studybot",
            client=web_client(None, self.settings.slack_api_url),  # each request gets its workspace's token
            authorize=authorize,
            oauth_settings=oauth,
            signing_secret=self.settings.slack_signing_secret or "",
            request_verification_enabled=not self.socket_mode,  # Socket Mode has no signatures to check
            logger=bolt_log,
        )
        register(app, self)
        return app

    async def _dispatch(self, request: AsyncBoltRequest) -> BoltResponse:
        if self.app is None:
            return BoltResponse(status=503, body="studybot is starting")
        return await self.app.async_dispatch(request)

    async def _oauth(self, step: str, request: AsyncBoltRequest) -> BoltResponse:
        """/slack/install ("install": the Add to Slack page) and /slack/oauth_redirect ("redirect"), by bolt's flow."""
        flow = self.app.oauth_flow if self.app is not None else None
        if flow is None:
            return BoltResponse(status=503, body="studybot is starting")
        if step == "install":
            return await flow.handle_installation(request)
        return await flow.handle_callback(request)

    # ---- installs and uninstalls --------------------------------------------------------------

    def _installation_changed(self, team_id: str, installed: bool) -> None:
        self.workspaces.forget(team_id)
        if self.hub is not None:
            self.hub.set_workspace_active(PLATFORM, team_id, installed)

    def uninstalled(self, team_id: str | None) -> None:
        """app_uninstalled, or the bot token revoked: the workspace's schedules stop; its data stays."""
        if not team_id:
            return
        if self.installations is not None:
            self.installations.uninstalled(team_id)  # its token goes; then _installation_changed
        elif self.hub is not None:  # SLACK_BOT_TOKEN's workspace: a restart with a new token brings it back
            self.hub.set_workspace_active(PLATFORM, team_id, False)
        log.info("Slack: the app left workspace %s: its schedules stop, its data is kept", team_id)

    def add_health_routes(self, health: Callable[[], dict[str, bool]], metrics: Metrics) -> None:
        """GET /healthz and /metrics on the Slack HTTP server; must come before start()."""
        from bot.http import health_routes

        if self.web_app is None or self.http is None:
            raise RuntimeError("Socket Mode has no HTTP server; use STUDYBOT_HTTP_PORT for /healthz")
        if self.http.serving:
            raise RuntimeError("add the health routes before the Slack adapter starts serving")
        self.web_app.add_routes(health_routes(health, metrics))

    def healthy(self) -> bool:
        if self.socket_mode:
            return self.link is not None and self.link.connected()
        return self.http is not None and self.http.serving and self.app is not None

    async def stop(self) -> None:
        if self.link is not None:
            await self.link.stop()
        if self.http is not None:
            await self.http.stop()
        if not await self.settled(SETTLE_ON_STOP):
            for task in list(self._busy):
                task.cancel()

    # ---- inbound ---------------------------------------------------------------------------

    @asynccontextmanager
    async def working(self, what: str) -> AsyncIterator[None]:
        """Around each listener: counted for settled(), and one bad payload never takes the bot down."""
        task = asyncio.current_task()
        if task is not None:
            self._busy.add(task)
        try:
            yield
        except Exception:
            log.exception("Slack %s could not be handled; nothing else is affected", what)
        finally:
            if task is not None:
                self._busy.discard(task)

    async def settled(self, timeout: float = 5.0) -> bool:
        """Wait until no listener has been at work for a few loop turns; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet = 0
        while quiet < 3:
            if loop.time() > deadline:
                return False
            if self._busy:
                quiet = 0
                await asyncio.wait(set(self._busy), timeout=max(0.0, deadline - loop.time()))
            else:
                quiet += 1
                await asyncio.sleep(0.005)
        return True

    async def run(self, event: Inbound, reply: ReplyTo | None) -> None:
        """One inbound event through the engine, and its answers out, with the interaction at hand."""
        assert self.hub is not None
        await self.hub.run(event, reply)

    async def member(self, team: str, user_id: str, fallback_name: str | None = None) -> Member:
        profile = await self.directory.profile(team, user_id, fallback_name)
        return Member(PLATFORM, user_id, profile.name)

    def bot_user_id(self, team: str | None) -> str | None:
        installed = self.workspaces.installation(team)
        return installed.bot_user_id if installed else None

    async def publish_home(self, team: str, user_id: str) -> None:
        """The Home tab: the member's record and streak, and this week's leaderboard."""
        assert self.hub is not None
        member = await self.member(team, user_id)
        place = Place(PLATFORM, team, self.hub.settings_for(PLATFORM, team).channel or "")
        stats, board = self.hub.home(member, place)
        view = render.home_view(name_of(member.name), stats, board)
        try:
            await self.workspaces.client_for(team).views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            log.warning("could not publish the Home tab of %s: %s", user_id, error_code(error))

    # ---- outbound --------------------------------------------------------------------------

    async def send(self, message: Outgoing, reply: Any = None) -> Sent | None:
        return await self.outbox.send(message, reply if isinstance(reply, ReplyTo) else None)


class _TokenFromEnvironment(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself, then warns that our client wins.

    That is by design here (a token-less client, the token chosen per request by `authorize`), so the
    warning would only alarm operators at every start.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()
