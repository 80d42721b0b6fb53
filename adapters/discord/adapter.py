"""The Discord adapter: runs the client, hands Discord events to the hub, and sends the engine's messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import discord

from adapters.discord import translate
from adapters.discord.client import StudyClient, use_endpoints
from adapters.discord.commands import tree_hash
from adapters.discord.delivery import Delivery, InteractionReply
from adapters.discord.permissions import missing_to_post
from adapters.discord.views import AnswerForm
from bot.config import ConfigError, Settings
from bot.events import ChoiceMade, CommandInvoked, Inbound, Outgoing, SuggestionSubmitted, WrittenAnswer
from bot.ports import Hub, Sent

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 60.0  # seconds start() waits for the gateway before giving up
# discord.py waits this long after the last GUILD_CREATE before it calls the client ready (its default: 2 s).
# Servers stream in right after READY; one that comes later is simply handled when it arrives.
GUILD_READY_TIMEOUT = 0.5
STOP_TIMEOUT = 4.0
GONE = "That question is no longer open. `/quiz` gives you a new one."
OOPS = "Something went wrong on my side; nothing you sent was lost. Try again in a moment."


def opens_form(text: str) -> bool:
    """A command whose answer may be a form (a modal can only be an interaction's first answer)."""
    words = text.lower().split()
    return bool(words) and (words[0] == "suggest" or words[:2] == ["suggestions", "edit"])


class DiscordAdapter:
    platform = "discord"
    attaches_images = True

    def __init__(self, settings: Settings, *, guild_ready_timeout: float = GUILD_READY_TIMEOUT,
                 connect_timeout: float = CONNECT_TIMEOUT,
                 identify_spacing: float = StudyClient.IDENTIFY_SPACING) -> None:
        self.settings = settings
        self.guild_ready_timeout = guild_ready_timeout  # how long discord.py waits for servers after READY
        self.connect_timeout = connect_timeout
        self.identify_spacing = identify_spacing  # between the IDENTIFYs of this process's shards
        self.hub: Hub | None = None
        self.client: StudyClient | None = None
        self.delivery: Delivery | None = None
        self._task: asyncio.Task | None = None

    # ---- lifecycle ------------------------------------------------------------------------

    @staticmethod
    async def check(settings: Settings) -> None:
        """Ask Discord who the token belongs to, before anything else starts; raises ConfigError if refused."""
        url = settings.discord_api_url.rstrip("/") + "/users/@me"
        headers = {"Authorization": f"Bot {settings.discord_token}", "User-Agent": "studybot"}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
                session.get(url, headers=headers) as response,
            ):
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise ConfigError("DISCORD_API_URL", f"cannot reach Discord at {settings.discord_api_url} "
                                                 f"({type(error).__name__})") from None
        if status == 401:
            raise ConfigError("DISCORD_TOKEN", "Discord refused this token; copy it again from the Bot page "
                                               "of the Developer Portal") from None

    async def start(self, hub: Hub) -> None:
        if not self.settings.discord_token:
            raise ValueError("DISCORD_TOKEN is not set")
        self.hub = hub
        use_endpoints(self.settings.discord_api_url, self.settings.discord_gateway_url)
        guild_id = int(self.settings.discord_guild_id) if self.settings.discord_guild_id else None
        self.client = StudyClient(self, hub.levels, guild_id, self.settings.discord_message_content,
                                  self.guild_ready_timeout, self.settings.discord_shards, self.identify_spacing)
        self.delivery = Delivery(self.client, self._report, self.settings.discord_message_content)
        self._task = asyncio.create_task(self.client.start(self.settings.discord_token), name="discord-client")
        await self._wait_ready()
        self._task.add_done_callback(self._client_ended)
        await self._sync_commands()
        await self._register_env_channel()

    async def _wait_ready(self) -> None:
        assert self.client is not None and self._task is not None
        ready = asyncio.create_task(self.client.ready_event.wait())
        done, _ = await asyncio.wait({ready, self._task}, timeout=self.connect_timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if ready in done:
            return
        ready.cancel()
        error = self._task.exception() if self._task in done else None
        await self.stop()
        if isinstance(error, discord.LoginFailure):
            raise ConfigError("DISCORD_TOKEN", "Discord refused this token; copy it again from the Bot page "
                                               "of the Developer Portal") from None
        if isinstance(error, discord.PrivilegedIntentsRequired):
            problem = "needs the Message Content intent: turn it on in the Developer Portal (Bot page), or set 0"
            raise ConfigError("STUDYBOT_DISCORD_MESSAGE_CONTENT", problem) from None
        if error is not None:
            raise RuntimeError(f"could not connect to Discord: {error!r}") from error
        raise RuntimeError(f"could not connect to Discord within {self.connect_timeout:.0f}s")

    def _client_ended(self, task: asyncio.Task) -> None:
        """After start: the client gave up (discord.py reconnects by itself otherwise); /healthz now says so."""
        if not task.cancelled() and task.exception() is not None:
            log.error("the Discord connection ended: %r", task.exception())

    async def stop(self) -> None:
        if self.client is None:
            return
        if self.delivery is not None:
            await self.delivery.settle(STOP_TIMEOUT / 2)
        try:
            await asyncio.wait_for(self.client.close(), STOP_TIMEOUT)
        except (TimeoutError, Exception):
            log.warning("Discord client did not close cleanly", exc_info=True)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def healthy(self) -> bool:
        client = self.client
        if client is None or client.is_closed() or not client.is_ready():
            return False
        return client.connected()

    def serves(self, workspace: str) -> bool:
        """Is this server on one of this process's shards: its scheduled rounds are posted here.

        Every process can post anywhere (REST is not sharded), so this only splits the work; the database's
        unique daily round keeps a server that two processes both took to one post.
        """
        shards = self.settings.discord_shards
        if shards is None or not workspace.isdigit():
            return True
        ids, count = shards
        return (int(workspace) >> 22) % count in ids

    async def _sync_commands(self) -> None:
        """Send the slash commands to Discord only when they changed since the last sync."""
        assert self.client is not None and self.hub is not None
        guild = self.client.command_guild
        key = f"discord:commands:{self.client.application_id}:{guild.id if guild else 'global'}"
        digest = tree_hash(self.client.tree, guild)
        if self.hub.recall(key) == digest:
            log.info("slash commands unchanged; not synced")
            return
        try:
            await self.client.tree.sync(guild=guild)
        except discord.HTTPException as error:
            log.error("could not sync slash commands (%s %s); trying again at the next start", error.status, error.text)
            return
        self.hub.remember(key, digest)
        log.info("slash commands synced %s", f"to server {guild.id}" if guild else "globally")

    async def _register_env_channel(self) -> None:
        """STUDYBOT_DISCORD_CHANNEL: find its server, so the engine knows where the daily question goes."""
        assert self.client is not None and self.hub is not None
        channel_id = self.settings.discord_channel
        if not channel_id:
            return
        channel = self.client.get_channel(int(channel_id))
        if channel is None:
            try:
                channel = await self.client.fetch_channel(int(channel_id))
            except discord.HTTPException as error:
                log.warning("STUDYBOT_DISCORD_CHANNEL %s: not a channel I can see (%s)", channel_id, error.text)
                return
        guild = getattr(channel, "guild", None)
        if guild is None:
            log.warning("STUDYBOT_DISCORD_CHANNEL %s is not a server channel", channel_id)
            return
        self.hub.register_channel(self.platform, str(guild.id), channel_id)

    def _report(self, workspace: str, problem: str) -> None:
        assert self.hub is not None
        log.warning("server %s: %s", workspace, problem)
        self.hub.report_problem(self.platform, workspace, problem)

    # ---- out ------------------------------------------------------------------------------

    async def send(self, message: Outgoing, reply: Any = None) -> Sent | None:
        """`reply`: the InteractionReply being answered, if any (its member's private messages go there)."""
        if self.delivery is None:
            raise RuntimeError("the Discord adapter is not started")
        return await self.delivery.send(message, reply if isinstance(reply, InteractionReply) else None)

    # ---- in: interactions -------------------------------------------------------------------

    async def on_command(self, interaction: discord.Interaction, text: str) -> None:
        in_dm = interaction.guild_id is None
        if not in_dm and text.split(" ", 1)[0] == "post":
            missing = missing_to_post(interaction.app_permissions)
            if missing:
                await self.private_reply(interaction, f"I cannot post a round in this channel: I am missing "
                                                      f"{', '.join(missing)} here. Ask an admin to grant them, "
                                                      "or use `/quiz post` in another channel.")
                return
        event = CommandInvoked(translate.member_of(interaction.user, interaction.user.id),
                               translate.place_of(interaction), text,
                               is_admin=not in_dm and interaction.permissions.manage_guild, in_dm=in_dm)
        if not in_dm and opens_form(text):
            await self._open_form(interaction, event)
            return
        after = self._check_daily_channel if text.startswith("setup") and not in_dm else None
        await self._answer(interaction, event, "Done.", after)

    async def _open_form(self, interaction: discord.Interaction, event: CommandInvoked) -> None:
        """/quiz suggest (and opening a draft or a suggestion to edit): the form must be the interaction's first
        answer, so no "thinking..." first; whatever else the engine says answers it instead."""
        reply = InteractionReply(interaction)
        try:
            await self._run(event, reply)
            if reply.sent == 0:
                await reply.text("Done.")
        except Exception:
            log.exception("opening the form failed")
            await self._try(reply.text(OOPS))

    async def on_suggest_form(self, interaction: discord.Interaction, draft: int | None, editing: int | None,
                              values: dict[str, str]) -> None:
        """The /quiz suggest form sent: its problems come back privately, with a button to open it again."""
        member = translate.member_of(interaction.user, interaction.user.id)
        is_admin = interaction.guild_id is not None and interaction.permissions.manage_guild
        event = SuggestionSubmitted(member, translate.place_of(interaction), tuple(values.items()), draft, editing,
                                    is_admin)
        await self._answer(interaction, event, "Done.")

    async def on_pick(self, interaction: discord.Interaction, round_id: int, choice: int) -> None:
        member = translate.member_of(interaction.user, interaction.user.id)
        await self._answer(interaction, ChoiceMade(member, choice, round_id=round_id), GONE)

    async def on_write(self, interaction: discord.Interaction, round_id: int) -> None:
        try:
            await interaction.response.send_modal(AnswerForm(round_id))
        except discord.HTTPException as error:
            log.info("could not open the answer form: %s", error.text)

    async def on_form(self, interaction: discord.Interaction, round_id: int, text: str) -> None:
        member = translate.member_of(interaction.user, interaction.user.id)
        await self._answer(interaction, WrittenAnswer(member, text, round_id=round_id), GONE)

    async def autocomplete(self, what: str, typed: str) -> list[str]:
        """The autocomplete of /quiz topic (topics) and /quiz broken (question ids)."""
        if self.hub is None:
            return []
        return self.hub.autocomplete(what, typed)

    async def private_reply(self, interaction: discord.Interaction, text: str) -> None:
        try:
            await InteractionReply(interaction).text(text)
        except discord.HTTPException as error:
            log.info("could not answer interaction %s: %s", interaction.id, error.text)

    async def _answer(self, interaction: discord.Interaction, event: Inbound, fallback: str,
                      after: Callable[[discord.Interaction, InteractionReply], Awaitable[None]] | None = None) -> None:
        """Run an event for an interaction; the engine's private messages for its member come back ephemeral."""
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)  # Discord wants an answer within 3s
        except discord.HTTPException as error:
            log.info("interaction %s expired before we answered: %s", interaction.id, error.text)
            return
        reply = InteractionReply(interaction)
        try:
            await self._run(event, reply)
            if after is not None:
                await after(interaction, reply)
            if reply.sent == 0:
                await reply.text(fallback)
        except Exception:
            log.exception("handling %s failed", type(event).__name__)
            await self._try(reply.text(OOPS))

    async def _check_daily_channel(self, interaction: discord.Interaction, reply: InteractionReply) -> None:
        """After /quiz setup: say so at once when the daily channel is one I cannot post in."""
        assert self.hub is not None and interaction.guild is not None
        settings = self.hub.settings_for(self.platform, str(interaction.guild.id))
        if not settings.channel or not settings.channel.isdigit():
            return
        channel = interaction.guild.get_channel(int(settings.channel))
        me = interaction.guild.me
        if channel is None or me is None:
            return
        missing = missing_to_post(channel.permissions_for(me), soft=True)
        if missing:
            await reply.text(f"⚠️ I cannot post the daily question in <#{channel.id}> yet: I am missing "
                             f"{', '.join(missing)} there.")

    # ---- in: gateway events ------------------------------------------------------------------

    async def on_reaction(self, event: discord.RawReactionActionEvent) -> None:
        bot_id = self.client.user.id if self.client and self.client.user else None
        choice = translate.reaction_choice(event, bot_id)
        if choice is not None:
            await self._try(self._run(choice))

    async def on_thread_message(self, message: discord.Message) -> None:
        bot_id = self.client.user.id if self.client and self.client.user else None
        answer = translate.thread_answer(message, bot_id)
        if answer is not None:
            await self._try(self._run(answer))

    async def _run(self, event: Inbound, reply: InteractionReply | None = None) -> None:
        assert self.hub is not None
        await self.hub.run(event, reply)

    @staticmethod
    async def _try(work: Awaitable[None]) -> None:
        try:
            await work
        except Exception:  # one bad event must never take the bot down
            log.exception("Discord event failed; carrying on")
