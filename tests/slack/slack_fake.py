"""A stand-in for Slack on 127.0.0.1: the Web API methods studybot calls, response_urls, and a
Socket Mode websocket. It records every request; answers are shaped like the success schemas of
Slack's Web API OpenAPI spec (../shared/specs/slack-web-openapi-v2.json)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

TEAM = "T0STUDY"
BOT_USER = "U0BOT"
BOT_ID = "B0BOT"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test-token"
SIGNING_SECRET = "test-signing-secret"
CLIENT_ID = "1234567890.0987654321"  # the app's OAuth credentials (Basic Information -> App Credentials)
CLIENT_SECRET = "test-client-secret"

USERS = {
    "U0ADA": {"name": "ada", "display_name": "Ada", "is_admin": False, "is_owner": False},
    "U0BRIAN": {"name": "brian", "display_name": "Brian", "is_admin": False, "is_owner": False},
    "U0CHEN": {"name": "chen", "display_name": "", "real_name": "Chen Li", "is_admin": False, "is_owner": False},
    "U0DANA": {"name": "dana", "display_name": "Dana", "is_admin": True, "is_owner": False},
    "U0OWEN": {"name": "owen", "display_name": "Owen", "is_admin": False, "is_owner": True},
}


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float
    status: int = 200
    error: str | None = None
    team: str | None = None  # the workspace whose bot token made the call


@dataclass
class FakeSlack:
    users: dict[str, dict] = field(default_factory=lambda: {k: dict(v) for k, v in USERS.items()})
    channel_errors: dict[str, str] = field(default_factory=dict)  # channel -> error code for posts there
    rate_limits: dict[str, int] = field(default_factory=dict)  # method -> how many 429s to answer first
    retry_after: int = 1
    delays: dict[str, float] = field(default_factory=dict)  # method -> seconds to wait before answering
    calls: list[Call] = field(default_factory=list)
    responses: list[dict] = field(default_factory=list)  # bodies posted to response_urls
    socket_acks: list[dict] = field(default_factory=list)
    missing_scopes: set[str] = field(default_factory=set)  # scopes the app was not granted (files:write, ...)
    uploads: dict[str, dict] = field(default_factory=dict)  # file id -> filename, bytes, and where it was shared
    socket_envelopes: asyncio.Queue | None = None
    port: int = 0
    _runner: web.AppRunner | None = None
    _ts: int = 0
    _reactions: set = field(default_factory=set)
    # bot token -> its workspace: SLACK_BOT_TOKEN's, and those oauth.v2.access hands out (a code "code-T0X" installs
    # in workspace T0X); revoke() takes a workspace's tokens back, as uninstalling the app does
    tokens: dict[str, str] = field(default_factory=lambda: {BOT_TOKEN: TEAM})

    # ---- lifecycle --------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        self.socket_envelopes = asyncio.Queue()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, key: str) -> str:
        return f"{self.url}/respond/{key}"

    # ---- queries for tests -----------------------------------------------------------------------

    def to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200 and c.error is None]

    def attempts(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def responses_to(self, key: str) -> list[dict]:
        return [r for r in self.responses if r["_key"] == key]

    def next_ts(self) -> str:
        self._ts += 1
        return f"{1_700_000_000 + self._ts}.{self._ts:06d}"

    # ---- the Web API ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _args(request)
        call = Call(method, args, time.monotonic())
        self.calls.append(call)
        if self.delays.get(method):
            await asyncio.sleep(self.delays[method])
        if self.rate_limits.get(method, 0) > 0:
            self.rate_limits[method] -= 1
            call.status = 429
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(self.retry_after)})
        if method == "oauth.v2.access":
            return web.json_response(self._oauth_access(call, request))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or args.get("token")
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return self._error(call, "invalid_auth")
        elif token not in self.tokens:
            return self._error(call, "invalid_auth")
        call.team = self.tokens.get(token)
        channel = args.get("channel")
        if isinstance(channel, str) and channel in self.channel_errors and method != "conversations.info":
            return self._error(call, self.channel_errors[channel])
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return self._error(call, "unknown_method")
        body = handler(args, call.team) if method == "auth.test" else handler(args)
        if body.get("ok") is False:
            call.error = body["error"]
        return web.json_response(body)

    def _error(self, call: Call, code: str) -> web.Response:
        call.error = code
        return web.json_response({"ok": False, "error": code})

    def m_auth_test(self, args: dict, team: str | None = None) -> dict:
        team = team or TEAM
        return {"ok": True, "url": f"https://{team.lower()}.slack.com/", "team": f"Team {team}", "user": "studybot",
                "team_id": team, "user_id": bot_user_of(team), "bot_id": bot_id_of(team),
                "is_enterprise_install": False}

    # ---- OAuth: installs in many workspaces ------------------------------------------------------

    def _oauth_access(self, call: Call, request: web.Request) -> dict:
        """oauth.v2.access: the app's credentials (HTTP Basic, or form fields) and an install's code -> a bot token."""
        args = call.args
        client_id, client_secret = args.get("client_id"), args.get("client_secret")
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        if (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET):
            call.error = "invalid_client_id"
            return {"ok": False, "error": "invalid_client_id"}
        code = str(args.get("code") or "")
        if not code.startswith("code-"):
            call.error = "invalid_code"
            return {"ok": False, "error": "invalid_code"}
        team = code.removeprefix("code-")
        token = f"xoxb-{team}-{len(self.tokens) + 1:04d}-test"
        self.tokens[token] = team
        return {"ok": True, "app_id": "A0STUDY", "authed_user": {"id": "U0DANA"}, "scope": ",".join(OAUTH_SCOPES),
                "token_type": "bot", "access_token": token, "bot_user_id": bot_user_of(team),
                "team": {"id": team, "name": f"Team {team}"}, "enterprise": None, "is_enterprise_install": False}

    def revoke(self, team: str) -> None:
        """The app uninstalled from a workspace: its tokens stop working."""
        for token in [t for t, owner in self.tokens.items() if owner == team]:
            del self.tokens[token]

    def token_of(self, team: str) -> str | None:
        return next((t for t, owner in self.tokens.items() if owner == team), None)

    def m_apps_connections_open(self, args: dict) -> dict:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}

    def m_users_info(self, args: dict) -> dict:
        user_id = args.get("user")
        found = self.users.get(user_id or "")
        if found is None:
            return {"ok": False, "error": "user_not_found"}
        profile = {"display_name": found.get("display_name", ""), "real_name": found.get("real_name", found["name"]),
                   "team": TEAM}
        return {"ok": True, "user": {"id": user_id, "team_id": TEAM, "name": found["name"], "deleted": False,
                                     "real_name": profile["real_name"], "is_admin": found["is_admin"],
                                     "is_owner": found["is_owner"], "is_bot": False, "profile": profile}}

    def m_conversations_info(self, args: dict) -> dict:
        channel = args.get("channel", "")
        error = self.channel_errors.get(channel)
        if error == "channel_not_found":
            return {"ok": False, "error": error}
        return {"ok": True, "channel": {"id": channel, "name": channel.lower(), "is_channel": True,
                                        "is_member": error != "not_in_channel", "is_archived": error == "is_archived"}}

    def m_conversations_open(self, args: dict) -> dict:
        users = args.get("users", "")
        if users not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": "D" + users[1:]}}

    def m_chat_postMessage(self, args: dict) -> dict:
        ts = self.next_ts()
        message = {"type": "message", "text": args.get("text", ""), "user": BOT_USER, "bot_id": BOT_ID, "ts": ts}
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}

    def m_chat_postEphemeral(self, args: dict) -> dict:
        return {"ok": True, "message_ts": self.next_ts()}

    def m_chat_update(self, args: dict) -> dict:
        message = {"type": "message", "text": args.get("text", ""), "user": BOT_USER, "bot_id": BOT_ID}
        return {"ok": True, "channel": args["channel"], "ts": args["ts"], "text": args.get("text", ""),
                "message": message}

    def m_reactions_add(self, args: dict) -> dict:
        key = (args.get("channel"), args.get("timestamp"), args.get("name"))
        if key in self._reactions:
            return {"ok": False, "error": "already_reacted"}
        self._reactions.add(key)
        return {"ok": True}

    # files_upload_v2: files.getUploadURLExternal, a POST of the bytes to its upload_url, files.completeUploadExternal

    def _scope(self, scope: str) -> dict | None:
        if scope in self.missing_scopes:
            return {"ok": False, "error": "missing_scope", "needed": scope, "provided": "chat:write,commands"}
        return None

    def m_files_getUploadURLExternal(self, args: dict) -> dict:
        refused = self._scope("files:write")
        if refused:
            return refused
        file_id = f"F0{len(self.uploads) + 1:05d}"
        self.uploads[file_id] = {"filename": args.get("filename"), "length": int(args.get("length", 0)),
                                 "data": None, "channel": None}
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def m_files_completeUploadExternal(self, args: dict) -> dict:
        refused = self._scope("files:write")
        if refused:
            return refused
        files = args.get("files")
        files = json.loads(files) if isinstance(files, str) else files
        shared = []
        for entry in files or []:
            upload = self.uploads.get(entry.get("id"))
            if upload is None or upload["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            upload.update(channel=args.get("channel_id"), title=entry.get("title"),
                          initial_comment=args.get("initial_comment"))
            shared.append({"id": entry["id"], "title": entry.get("title") or upload["filename"]})
        return {"ok": True, "files": shared}

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="unknown upload")
        upload["data"] = await request.read()
        return web.Response(text="OK - " + str(len(upload["data"])))

    def m_views_open(self, args: dict) -> dict:
        return {"ok": True, "view": {"id": "V0MODAL", **_view(args)}}

    def m_views_publish(self, args: dict) -> dict:
        return {"ok": True, "view": {"id": "V0HOME", **_view(args)}}

    # ---- response_url and Socket Mode -------------------------------------------------------------

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append({"_key": request.match_info["key"], **body})
        if request.match_info["key"].startswith("expired"):
            return web.Response(status=404, text="expired_url")
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "debug_info": {"host": "applink-test", "approximate_connection_time": 18060},
                            "connection_info": {"app_id": "A0STUDY"}})
        assert self.socket_envelopes is not None
        sender = asyncio.create_task(self._send_envelopes(ws))
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self.socket_acks.append(json.loads(message.data))
        finally:
            sender.cancel()
        return ws

    async def _send_envelopes(self, ws: web.WebSocketResponse) -> None:
        assert self.socket_envelopes is not None
        while True:
            envelope = await self.socket_envelopes.get()
            await ws.send_json(envelope)


def bot_user_of(team: str) -> str:
    """The bot's user id in a workspace (one per workspace on Slack)."""
    return BOT_USER if team == TEAM else f"U0B{team[-4:]}"


def bot_id_of(team: str) -> str:
    return BOT_ID if team == TEAM else f"B0B{team[-4:]}"


OAUTH_SCOPES = ("chat:write", "commands", "reactions:read", "reactions:write", "channels:history", "groups:history",
                "users:read", "im:write")


async def _args(request: web.Request) -> dict[str, Any]:
    """Slack takes arguments as query, form or JSON; slack_sdk uses all three."""
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update(dict(await request.post()))
    return args


def _view(args: dict) -> dict:
    view = args.get("view")
    return json.loads(view) if isinstance(view, str) else dict(view or {})
