"""A small Discord of our own on 127.0.0.1: the REST endpoints studybot uses and a gateway websocket.

REST requests are recorded (method, path, query, JSON body) and answered with
objects shaped as Discord's API documents them; the gateway speaks the v10
protocol (HELLO, IDENTIFY, heartbeats, READY, GUILD_CREATE, dispatches) with
zlib-stream transport compression when the client asks for it, as discord.py
does by default. Failures are switched on per channel or message, as a test
needs them: missing permissions (403), deleted channels and messages (404).

Sharding as Discord does it: GET /gateway/bot recommends a shard count, an
IDENTIFY may carry `shard: [id, count]`, and then that connection gets READY,
GUILD_CREATE and every other event only of the servers on its shard
((server id >> 22) % count); direct messages go to shard 0.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web

PAYLOADS = Path(__file__).parent / "payloads"
API_PREFIX = "/api/v10"
EPHEMERAL = 1 << 6
HEARTBEAT_INTERVAL = 41250


def sample(name: str) -> dict:
    """A recorded payload shape from tests/discord/payloads/."""
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


def as_json(payload: Any, status: int = 200) -> web.Response:
    """JSON as Discord sends it: exactly `application/json` (discord.py parses only that)."""
    return web.Response(body=json.dumps(payload).encode(), status=status, headers={"Content-Type": "application/json"})


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def shard_of(guild_id: str, count: int) -> int:
    """The shard that carries a server's events (Discord's sharding formula)."""
    return (int(guild_id) >> 22) % count


@dataclass
class Call:
    method: str
    path: str  # below /api/v10, decoded: /channels/1/messages/2/reactions/1️⃣/@me
    query: dict[str, str]
    body: Any  # the JSON body (for multipart: its payload_json), or None
    status: int = 0
    files: list[str] = field(default_factory=list)


class Refusal(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class GatewayConnection:
    def __init__(self, ws: web.WebSocketResponse, compress: bool) -> None:
        self.ws = ws
        self.zlib = zlib.compressobj() if compress else None
        self.seq = 0
        self.shard: tuple[int, int] | None = None  # [shard_id, num_shards] from IDENTIFY; None: unsharded

    def carries(self, guild_id: str | None) -> bool:
        """Does this connection get the events of that server (None: a direct message, which goes to shard 0)."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return shard_id == (0 if guild_id is None else shard_of(guild_id, count))

    async def send(self, op: int, data: Any, event: str | None = None) -> None:
        if op == 0:
            self.seq += 1
        payload = {"op": op, "d": data, "s": self.seq if op == 0 else None, "t": event}
        text = json.dumps(payload)
        if self.zlib is None:
            await self.ws.send_str(text)
        else:  # zlib-stream: one shared context, each message ends with a sync flush (00 00 ff ff)
            await self.ws.send_bytes(self.zlib.compress(text.encode()) + self.zlib.flush(zlib.Z_SYNC_FLUSH))


class DiscordStandIn:
    def __init__(self, token: str = "standin-token") -> None:
        self.token = token
        ready = sample("ready")
        self.bot_user = ready["user"]
        self.application_id = ready["application"]["id"]
        self._ids = itertools.count(1_600_000_000_000_000_000)
        self.calls: list[Call] = []
        self.identifies: list[dict] = []
        self.connections: list[GatewayConnection] = []
        self.guilds: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.messages: dict[str, dict] = {}
        self.bot_reactions: dict[str, list[str]] = {}
        self.commands: dict[str, list[dict]] = {}
        self.interaction_tokens: dict[str, str] = {}  # token -> interaction id
        self.interaction_replies: dict[str, list[dict]] = {}  # token -> messages and forms sent in answer
        self.forbidden: set[str] = set()  # channels where posting is refused (403 Missing Permissions)
        self.no_reactions: set[str] = set()
        self.no_threads: set[str] = set()
        self.privileged_intents = True  # False: the Message Content intent is off in the Developer Portal
        self.refuse_sync = False  # 403 Missing Access on command sync (invited without applications.commands)
        self.recommended_shards = 1  # GET /gateway/bot's `shards`: how many a client should run without being told
        self.runner: web.AppRunner | None = None
        self.port = 0

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> DiscordStandIn:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        for conn in list(self.connections):
            await conn.ws.close()
        if self.runner is not None:
            await self.runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def new_id(self) -> str:
        return str(next(self._ids))

    # ---- the world ---------------------------------------------------------------------------

    def add_guild(self, guild_id: str | None = None, name: str = "LLM study group") -> dict:
        guild = sample("guild_create")
        old_id = guild["id"]
        guild_id = guild_id or guild["id"]
        text = json.dumps(guild).replace(old_id, guild_id)  # the @everyone role shares the guild's id
        guild = json.loads(text)
        guild["name"] = name
        guild["channels"] = []
        self.guilds[guild_id] = guild
        return guild

    def add_channel(self, guild_id: str, name: str, channel_id: str | None = None) -> str:
        channel = copy.deepcopy(sample("guild_create")["channels"][0])
        channel.update(id=channel_id or self.new_id(), guild_id=guild_id, name=name)
        self.guilds[guild_id]["channels"].append(channel)
        self.channels[channel["id"]] = channel
        return channel["id"]

    def delete_channel(self, channel_id: str) -> None:
        self.channels.pop(channel_id, None)

    def delete_message(self, message_id: str) -> None:
        self.messages.pop(message_id, None)

    # ---- waiting -------------------------------------------------------------------------------

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = condition()
            if result:
                return result
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.01)

    def find(self, method: str, pattern: str) -> list[Call]:
        regex = re.compile(pattern)
        return [c for c in self.calls if c.method == method and regex.fullmatch(c.path)]

    def replies(self, token: str) -> list[dict]:
        """What the bot answered an interaction with, in order: messages as stored (usable for clicks), forms."""
        return list(self.interaction_replies.get(token, []))

    async def wait_replies(self, token: str, count: int = 1, timeout: float = 5.0) -> list[dict]:
        return await self.wait_for(lambda: len(self.replies(token)) >= count and self.replies(token),
                                   timeout, f"{count} replies to interaction {token}")

    # ---- gateway ---------------------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict) -> None:
        """An event on the connection of its server's shard (every connection for an unsharded client).

        A server id that is not one (a mangled payload in the fuzz tests) goes where a direct message goes.
        """
        guild_id = data.get("guild_id") if isinstance(data, dict) else None
        guild_id = str(guild_id) if isinstance(guild_id, (str, int)) and str(guild_id).isdigit() else None
        for conn in list(self.connections):
            if not conn.ws.closed and conn.carries(guild_id):
                await conn.send(0, data, event)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = GatewayConnection(ws, compress=request.query.get("compress") == "zlib-stream")
        self.connections.append(conn)
        await conn.send(10, {"heartbeat_interval": HEARTBEAT_INTERVAL, "_trace": ["standin"]})
        try:
            async for frame in ws:
                message = json.loads(frame.data)
                if message["op"] == 1:
                    await conn.send(11, None)
                elif message["op"] == 2:
                    self.identifies.append(message["d"])
                    await self._ready(conn, message["d"])
        finally:
            self.connections.remove(conn)
        return ws

    async def _ready(self, conn: GatewayConnection, identify: dict) -> None:
        if identify.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if identify.get("intents", 0) & (1 << 15) and not self.privileged_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard = identify.get("shard")
        if shard is not None:
            shard_id, count = shard
            if count < 1 or not 0 <= shard_id < count:
                await conn.ws.close(code=4010, message=b"Invalid shard.")
                return
            conn.shard = (shard_id, count)
        guilds = [guild for gid, guild in self.guilds.items() if conn.carries(gid)]
        ready = sample("ready")
        ready["guilds"] = [{"id": guild["id"], "unavailable": True} for guild in guilds]
        ready["resume_gateway_url"] = self.gateway_url
        if conn.shard is not None:
            ready["shard"] = list(conn.shard)
        await conn.send(0, ready, "READY")
        for guild in guilds:
            await conn.send(0, guild, "GUILD_CREATE")

    # ---- REST ---------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = unquote(request.path[len(API_PREFIX):])
        body, files = await self._body(request)
        call = Call(request.method, path, dict(request.query), body, files=files)
        self.calls.append(call)
        if (request.headers.get("Authorization") != f"Bot {self.token}"
                and not path.startswith(("/webhooks/", "/interactions/"))):
            call.status = 401
            return as_json({"message": "401: Unauthorized", "code": 0}, status=401)
        for method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match and method == request.method:
                try:
                    status, payload = handler(body or {}, **match.groupdict())
                except Refusal as refusal:
                    call.status = refusal.status
                    return as_json({"message": refusal.message, "code": refusal.code}, status=refusal.status)
                call.status = status
                if status == 204:
                    return web.Response(status=204)
                return as_json(payload, status=status)
        call.status = 404
        return as_json({"message": "404: Not Found", "code": 0}, status=404)

    @staticmethod
    async def _body(request: web.Request) -> tuple[Any, list[str]]:
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            files = [v.filename for k, v in form.items() if hasattr(v, "filename")]
            return json.loads(str(form.get("payload_json", "{}"))), files
        if request.can_read_body:
            text = await request.text()
            return (json.loads(text) if text else None), []
        return None, []

    def _routes(self) -> list[tuple[str, str, Callable[..., tuple[int, Any]]]]:
        app, ident = re.escape(self.application_id), r"(?P<{}>[0-9]+)"
        return [
            ("GET", r"/users/@me", lambda body: (200, self.bot_user)),
            ("GET", r"/gateway/bot", lambda body: (200, self._gateway_bot())),
            ("GET", r"/oauth2/applications/@me", lambda body: (200, self._application())),
            ("PUT", rf"/applications/{app}/commands", lambda body: self._sync("global", body)),
            ("PUT", rf"/applications/{app}/guilds/{ident.format('guild')}/commands",
             lambda body, guild: self._sync(guild, body)),
            ("GET", rf"/channels/{ident.format('channel')}", self._get_channel),
            ("POST", rf"/channels/{ident.format('channel')}/messages", self._create_message),
            ("PATCH", rf"/channels/{ident.format('channel')}/messages/{ident.format('message')}", self._edit_message),
            ("PUT",
             rf"/channels/{ident.format('channel')}/messages/{ident.format('message')}/reactions/(?P<emoji>[^/]+)/@me",
             self._add_reaction),
            ("POST", rf"/channels/{ident.format('channel')}/messages/{ident.format('message')}/threads",
             self._start_thread),
            ("POST", r"/users/@me/channels", self._open_dm),
            ("POST", rf"/interactions/{ident.format('interaction')}/(?P<token>[^/]+)/callback", self._callback),
            ("POST", rf"/webhooks/{app}/(?P<token>[^/]+)", self._followup),
            ("PATCH", rf"/webhooks/{app}/(?P<token>[^/]+)/messages/(?P<message>@original|[0-9]+)", self._edit_followup),
        ]

    def _gateway_bot(self) -> dict:
        return {"url": self.gateway_url, "shards": self.recommended_shards,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000,
                                        "max_concurrency": 1}}

    def _application(self) -> dict:
        return {
            "id": self.application_id, "name": "studybot", "icon": None, "description": "LLM interview practice",
            "summary": "", "type": None, "bot_public": True, "bot_require_code_grant": False,
            "verify_key": "0" * 64, "flags": 8953856, "owner": {k: v for k, v in self.bot_user.items() if k != "bot"},
            "team": None, "bot": self.bot_user, "interactions_endpoint_url": None, "redirect_uris": [],
            "hook": True, "integration_types_config": {"0": {}}, "approximate_guild_count": len(self.guilds),
        }

    def _sync(self, target: str, body: list[dict]) -> tuple[int, list[dict]]:
        if self.refuse_sync:
            raise Refusal(403, 50001, "Missing Access")
        out = []
        for command in body:
            out.append(command | {"id": self.new_id(), "application_id": self.application_id, "version": self.new_id(),
                                  "default_member_permissions": command.get("default_member_permissions"),
                                  "type": command.get("type", 1), "nsfw": False}
                       | ({"guild_id": target} if target != "global" else {}))
        self.commands[target] = out
        return 200, out

    def _channel_or_404(self, channel: str) -> dict:
        if channel not in self.channels:
            raise Refusal(404, 10003, "Unknown Channel")
        return self.channels[channel]

    def _get_channel(self, body: dict, channel: str) -> tuple[int, dict]:
        return 200, self._channel_or_404(channel)

    def _message(self, channel_id: str, body: dict, flags: int = 0) -> dict:
        message = {
            "id": self.new_id(), "type": 0 if not body.get("message_reference") else 19, "channel_id": channel_id,
            "author": self.bot_user, "content": body.get("content") or "", "timestamp": now_iso(),
            "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": body.get("embeds") or [], "pinned": False,
            "flags": flags | body.get("flags", 0),
            "components": body.get("components") or [],
        }
        if body.get("message_reference"):
            message["message_reference"] = body["message_reference"] | {"type": 0}
        self.messages[message["id"]] = message
        return message

    def _create_message(self, body: dict, channel: str) -> tuple[int, dict]:
        self._channel_or_404(channel)
        if channel in self.forbidden or self.channels[channel].get("parent_id") in self.forbidden:
            raise Refusal(403, 50013, "Missing Permissions")
        return 200, self._message(channel, body)

    def _message_or_404(self, channel: str, message: str) -> dict:
        self._channel_or_404(channel)
        if message not in self.messages or self.messages[message]["channel_id"] != channel:
            raise Refusal(404, 10008, "Unknown Message")
        return self.messages[message]

    def _edit_message(self, body: dict, channel: str, message: str) -> tuple[int, dict]:
        stored = self._message_or_404(channel, message)
        stored.update({k: v for k, v in body.items() if k in ("content", "embeds", "components", "flags")})
        stored["edited_timestamp"] = now_iso()
        return 200, stored

    def _add_reaction(self, body: dict, channel: str, message: str, emoji: str) -> tuple[int, None]:
        self._message_or_404(channel, message)
        if channel in self.no_reactions:
            raise Refusal(403, 50013, "Missing Permissions")
        self.bot_reactions.setdefault(message, []).append(emoji)
        return 204, None

    def _start_thread(self, body: dict, channel: str, message: str) -> tuple[int, dict]:
        parent = self._channel_or_404(channel)
        self._message_or_404(channel, message)
        if channel in self.no_threads:
            raise Refusal(403, 50013, "Missing Permissions")
        thread = {  # a thread started from a message has the message's id
            "id": message, "type": 11, "guild_id": parent["guild_id"], "parent_id": channel, "name": body["name"],
            "owner_id": self.bot_user["id"], "last_message_id": None, "rate_limit_per_user": 0, "flags": 0,
            "message_count": 0, "member_count": 1, "total_message_sent": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": body.get("auto_archive_duration", 1440),
                                "archive_timestamp": now_iso(), "locked": False, "create_timestamp": now_iso()},
            "member": {"id": message, "user_id": self.bot_user["id"], "join_timestamp": now_iso(), "flags": 1},
        }
        self.channels[thread["id"]] = thread
        asyncio.get_running_loop().create_task(self.dispatch("THREAD_CREATE", thread | {"newly_created": True}))
        return 201, thread

    def _open_dm(self, body: dict) -> tuple[int, dict]:
        user_id = str(body["recipient_id"])
        channel = {"id": self.new_id(), "type": 1, "last_message_id": None, "flags": 0,
                   "recipients": [{"id": user_id, "username": f"user{user_id[-4:]}", "global_name": None,
                                   "discriminator": "0", "avatar": None}]}
        self.channels[channel["id"]] = channel
        return 200, channel

    def _callback(self, body: dict, interaction: str, token: str) -> tuple[int, dict | None]:
        self.interaction_tokens[token] = interaction
        kind = body["type"]
        data = body.get("data") or {}
        response = {"interaction": {"id": interaction, "type": 2, "activity_instance_id": None,
                                    "response_message_id": None, "response_message_loading": kind == 5,
                                    "response_message_ephemeral": bool(data.get("flags", 0) & EPHEMERAL)}}
        if kind == 4:
            message = self._message("0", data)
            self.interaction_replies.setdefault(token, []).append(message)
            response["interaction"]["response_message_id"] = message["id"]
            response["resource"] = {"type": 4, "message": message}
        elif kind in (8, 9):  # autocomplete choices, a form
            self.interaction_replies.setdefault(token, []).append(data | {"callback_type": kind})
        elif kind == 5:
            response["resource"] = {"type": 5}
        return 200, response  # discord.py always asks with_response=1

    def _followup(self, body: dict, token: str) -> tuple[int, dict]:
        if token not in self.interaction_tokens:
            raise Refusal(404, 10015, "Unknown Webhook")
        message = self._message("0", body)
        self.interaction_replies.setdefault(token, []).append(message)
        return 200, message

    def _edit_followup(self, body: dict, token: str, message: str) -> tuple[int, dict]:
        return 200, self._message("0", body)

    # ---- events, shaped as Discord sends them --------------------------------------------------------

    def member(self, user_id: str, name: str, admin: bool = False) -> dict:
        member = copy.deepcopy(sample("interaction_application_command")["member"])
        member["user"].update(id=user_id, username=name.lower(), global_name=name)
        member["permissions"] = str(int(member["permissions"]) | (1 << 5)) if admin else member["permissions"]
        return member

    def _interaction(self, name: str, channel_id: str, user: dict | None, guild_id: str | None) -> dict:
        event = sample(name)
        event["id"] = self.new_id()
        event["token"] = f"token-{event['id']}"
        event["application_id"] = self.application_id
        channel = self.channels.get(channel_id) or event["channel"] | {"id": channel_id, "guild_id": guild_id}
        event["channel"] = {**channel, "permissions": event["channel"]["permissions"]}
        event["channel_id"] = channel_id
        if guild_id is None:  # a direct message: a user, no member, no guild
            for key in ("guild", "guild_id", "guild_locale", "member"):
                event.pop(key, None)
            event["user"] = (user or self.member("1300000000000000001", "Ada"))["user"]
            event["channel"] = {"id": channel_id, "type": 1, "last_message_id": None, "flags": 0,
                                "recipients": [event["user"]]}
            event["context"] = 1
            event["authorizing_integration_owners"] = {"0": event["user"]["id"]}
        else:
            event["guild_id"] = guild_id
            event["guild"]["id"] = guild_id
            event["member"] = user or self.member("1300000000000000001", "Ada")
        return event

    async def slash(self, options: list[dict], channel_id: str, user: dict | None = None,
                    guild_id: str | None = "default", app_permissions: int | None = None,
                    resolved: dict | None = None) -> str:
        """/quiz <subcommand> [options]; returns the interaction token."""
        guild_id = next(iter(self.guilds)) if guild_id == "default" else guild_id
        event = self._interaction("interaction_application_command", channel_id, user, guild_id)
        event["data"]["options"] = options
        event["data"]["id"] = next((c["id"] for c in self.commands.get(guild_id or "", [])), event["data"]["id"])
        if guild_id:
            event["data"]["guild_id"] = guild_id
        else:
            event["data"].pop("guild_id", None)
        if resolved:
            event["data"]["resolved"] = resolved
        if app_permissions is not None:
            event["app_permissions"] = str(app_permissions)
        await self.dispatch("INTERACTION_CREATE", event)
        return event["token"]

    async def autocomplete(self, options: list[dict], channel_id: str, user: dict | None = None) -> str:
        """A member typing in an autocompleted option (the one marked "focused"); returns the interaction token."""
        guild_id = next(iter(self.guilds))
        event = self._interaction("interaction_application_command", channel_id, user, guild_id)
        event["type"] = 4
        event["data"]["options"] = options
        event["data"]["id"] = next((c["id"] for c in self.commands.get(guild_id, [])), event["data"]["id"])
        await self.dispatch("INTERACTION_CREATE", event)
        return event["token"]

    async def click(self, message: dict, custom_id: str, user: dict | None = None,
                    channel_id: str | None = None) -> str:
        """A button click on a message the bot sent (its components as sent)."""
        channel_id = channel_id or message["channel_id"]
        guild_id = self.channels.get(channel_id, {}).get("guild_id") or next(iter(self.guilds))
        event = self._interaction("interaction_message_component", channel_id, user, guild_id)
        event["message"] = message | {"channel_id": channel_id}
        event["data"] = {"custom_id": custom_id, "component_type": 2, "id": 2}
        await self.dispatch("INTERACTION_CREATE", event)
        return event["token"]

    async def submit_form(self, custom_id: str, text: str, channel_id: str, user: dict | None = None) -> str:
        guild_id = self.channels.get(channel_id, {}).get("guild_id") or next(iter(self.guilds))
        event = self._interaction("interaction_modal_submit", channel_id, user, guild_id)
        event["data"]["custom_id"] = custom_id
        event["data"]["components"][0]["component"]["value"] = text
        await self.dispatch("INTERACTION_CREATE", event)
        return event["token"]

    async def react(self, message_id: str, channel_id: str, emoji: str, user: dict | None,
                    user_id: str | None = None) -> None:
        event = sample("message_reaction_add")
        event.update(message_id=message_id, channel_id=channel_id, emoji={"id": None, "name": emoji},
                     guild_id=(self.channels[channel_id]["guild_id"] if channel_id in self.channels
                               else next(iter(self.guilds))))
        if user is None:  # a member who left: no member object
            event.pop("member")
            event["user_id"] = user_id
        else:
            event["member"] = {k: v for k, v in user.items() if k != "permissions"}
            event["user_id"] = user["user"]["id"]
        await self.dispatch("MESSAGE_REACTION_ADD", event)

    async def say_in_thread(self, thread_id: str, text: str, user: dict, guild_id: str | None = None) -> None:
        event = sample("message_create_in_thread")
        event.update(id=self.new_id(), channel_id=thread_id, content=text, author=user["user"],
                     guild_id=guild_id or next(iter(self.guilds)))
        await self.dispatch("MESSAGE_CREATE", event)
