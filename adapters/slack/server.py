"""How Slack reaches the bolt app: HTTP (POST /slack/events on PORT) or Socket Mode (a websocket out)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"  # with OAuth: the Add to Slack page
REDIRECT_PATH = "/slack/oauth_redirect"  # with OAuth: where Slack sends the installer back
MAX_BODY = 1024 * 1024  # Slack's payloads are a few kB; anything near this is not from Slack
SOCKET_CONNECT_WAIT = 20.0  # seconds start() waits for the websocket before going on (it keeps trying)

Dispatch = Callable[[AsyncBoltRequest], Awaitable[BoltResponse]]
OAuthStep = Callable[[str, AsyncBoltRequest], Awaitable[BoltResponse]]  # ("install" | "redirect", request)


def events_app(dispatch: Dispatch, oauth: OAuthStep | None = None) -> web.Application:
    """The aiohttp application serving Slack's request URL; the runtime adds /healthz and /metrics to it.

    With `oauth`, also GET /slack/install and /slack/oauth_redirect (bolt's OAuth flow).
    """

    async def events(request: web.Request) -> web.Response:
        try:
            bolt_request = await to_bolt_request(request)
        except ValueError:  # a body that is not the JSON or form it says it is: not from Slack
            return web.Response(status=400, text="malformed request body")
        return await to_aiohttp_response(await dispatch(bolt_request))

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(EVENTS_PATH, events)
    if oauth is not None:
        for path, step in ((INSTALL_PATH, "install"), (REDIRECT_PATH, "redirect")):
            app.router.add_get(path, _oauth_page(oauth, step))
    return app


def _oauth_page(oauth: OAuthStep, step: str):
    async def page(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await oauth(step, await to_bolt_request(request)))

    return page


class HttpServer:
    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def serving(self) -> bool:
        return self._runner is not None

    async def start(self) -> int:
        """Serve; returns the port bound (the one asked for, or a free one for port 0)."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        log.info("Slack request URL served on %s:%s%s", self.host, self.port, EVENTS_PATH)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


class SocketLink:
    """Socket Mode: slack_sdk's aiohttp client, fed into the same bolt app."""

    def __init__(self, app: AsyncApp, app_token: str) -> None:
        self.handler = AsyncSocketModeHandler(app, app_token=app_token)
        self._connecting: asyncio.Task | None = None

    async def start(self) -> None:
        self._connecting = asyncio.create_task(self.handler.connect_async())
        done, _ = await asyncio.wait({self._connecting}, timeout=SOCKET_CONNECT_WAIT)
        if not done:
            log.warning("Socket Mode is not connected yet; still trying in the background")
        elif self._connecting.exception() is not None:
            raise self._connecting.exception()  # type: ignore[misc]

    def connected(self) -> bool:
        client = self.handler.client
        session = client.current_session
        return not client.closed and session is not None and not session.closed

    async def stop(self) -> None:
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        await self.handler.close_async()
