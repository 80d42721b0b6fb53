"""The discord.py client: intents, endpoints, and the events it passes on.

It holds no game state: every event goes straight to the sink (the adapter),
which translates it for the engine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import discord
import yarl
from discord import app_commands

from adapters.discord import custom_ids
from adapters.discord.commands import build_quiz, raw_command_text
from adapters.discord.pacing import Pacer, pace_requests
from adapters.discord.views import DYNAMIC_ITEMS, ButtonSink, form_text, form_values

log = logging.getLogger(__name__)


class EventSink(ButtonSink, Protocol):
    async def on_command(self, interaction: discord.Interaction, text: str) -> None: ...

    async def on_form(self, interaction: discord.Interaction, round_id: int, text: str) -> None: ...

    async def on_reaction(self, event: discord.RawReactionActionEvent) -> None: ...

    async def on_thread_message(self, message: discord.Message) -> None: ...

    async def private_reply(self, interaction: discord.Interaction, text: str) -> None: ...


def intents(message_content: bool) -> discord.Intents:
    """Servers and their reactions; guild messages and their content only when thread answers are on."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.guild_reactions = True
    if message_content:
        chosen.guild_messages = True
        chosen.message_content = True
    return chosen


def use_endpoints(api_url: str, gateway_url: str) -> None:
    """Point discord.py at another REST base and gateway (a REST proxy, or a local stand-in in tests).

    discord.py builds every REST URL, webhooks and interaction callbacks included,
    from Route.BASE (its own version switch sets it the same way), and opens the
    gateway at DiscordWebSocket.DEFAULT_GATEWAY unless resuming. Both are
    process-wide, as is the one Discord connection a studybot process makes.
    """
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def _guard_parsers(parsers: dict[str, Callable[[Any], None]]) -> None:
    """Make a malformed gateway event cost that event only.

    discord.py calls its event parsers straight from the connection loop, so an
    exception in one (a payload missing a field) ends the loop and the client
    with it. The table is the one the gateway reads (ConnectionState.parsers),
    so wrapping its entries in place is enough.
    """
    for name, parse in list(parsers.items()):
        parsers[name] = _guarded(name, parse)


def _guarded(name: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
    def guarded(data: Any) -> None:
        try:
            parse(data)
        except Exception:
            log.exception("ignored a malformed %s event from Discord", name)

    return guarded


class QuizTree(app_commands.CommandTree):
    """Slash commands; a use that matches none of ours still gets a useful private answer."""

    def __init__(self, client: StudyClient) -> None:
        super().__init__(client)
        self.sink = client.sink

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.CommandNotFound):
            # A subcommand Discord still shows but we no longer have (e.g. a level removed from the bank):
            # the engine answers with the valid levels and subcommands.
            await self.sink.on_command(interaction, raw_command_text(interaction.data))
            return
        if isinstance(error, app_commands.TransformerError):
            await self.sink.private_reply(interaction, "I cannot use that channel: pick a text channel I can see.")
            return
        if isinstance(error, app_commands.CommandSignatureMismatch):
            text = "That command changed since Discord last loaded it; try again in a minute (or restart Discord)."
            await self.sink.private_reply(interaction, text)
            return
        log.error("slash command failed", exc_info=error)
        await self.sink.private_reply(interaction, "Something went wrong with that command; nothing was lost.")


class StudyClient(discord.AutoShardedClient):
    """One gateway connection per shard this process runs (`shards`: the shard ids and the bot's shard count,
    from STUDYBOT_DISCORD_SHARDS; None: every shard, as many as Discord recommends). Discord sends each server's
    events on the connection of its shard, (server id >> 22) % count; REST calls work for any server."""

    IDENTIFY_SPACING = 5.0  # seconds between two shards' IDENTIFY: Discord's limit (max_concurrency 1)

    def __init__(self, sink: EventSink, levels: tuple[str, ...], guild_id: int | None, message_content: bool,
                 guild_ready_timeout: float = 0.5, shards: tuple[tuple[int, ...], int] | None = None,
                 identify_spacing: float = IDENTIFY_SPACING) -> None:
        shard_options: dict[str, Any] = {"shard_ids": list(shards[0]), "shard_count": shards[1]} if shards else {}
        super().__init__(intents=intents(message_content), allowed_mentions=discord.AllowedMentions.none(),
                         max_messages=None, chunk_guilds_at_startup=False, guild_ready_timeout=guild_ready_timeout,
                         **shard_options)
        self.identify_spacing = identify_spacing
        self.sink = sink
        self.message_content = message_content
        self.command_guild = discord.Object(guild_id) if guild_id else None
        self.tree = QuizTree(self)
        self.tree.add_command(build_quiz(levels, sink.on_command, getattr(sink, "autocomplete", None)),
                              guild=self.command_guild)
        self.ready_event = asyncio.Event()
        _guard_parsers(self._connection.parsers)
        pace_requests(self.http, Pacer())

    async def setup_hook(self) -> None:
        self.add_dynamic_items(*DYNAMIC_ITEMS)

    async def launch_shards(self) -> None:
        """Discord's recommended shard count when none was set, then the shards, on DISCORD_GATEWAY_URL.

        discord.py would connect to the URL that GET /gateway/bot names; the configured gateway (a proxy, a
        local stand-in) wins here, as it does for an unsharded client.
        """
        if self.shard_count is None:
            self.shard_count, _url, _limits = await self.http.get_bot_gateway()
        await super().launch_shards()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:
            await asyncio.sleep(self.identify_spacing)

    def connected(self) -> bool:
        """Every shard of this process has its gateway connection open."""
        wanted = len(self.shard_ids) if self.shard_ids is not None else self.shard_count
        shards = self.shards
        return bool(shards) and len(shards) == wanted and not any(shard.is_closed() for shard in shards.values())

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s in %d server(s)", self.user, len(self.guilds))
        self.ready_event.set()

    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        await self.sink.on_reaction(event)

    async def on_message(self, message: discord.Message) -> None:
        if self.message_content:
            await self.sink.on_thread_message(message)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return  # commands go through the tree, buttons through their dynamic items
        data: Mapping[str, Any] = interaction.data or {}
        suggestion = custom_ids.form_suggestion(str(data.get("custom_id", "")))
        if suggestion is not None:  # the /quiz suggest form
            values = form_values(list(data.get("components") or []))
            await self.sink.on_suggest_form(interaction, *suggestion, values)  # type: ignore[attr-defined]
            return
        round_id = custom_ids.form_round(str(data.get("custom_id", "")))
        if round_id is None:
            return
        text = form_text(list(data.get("components") or []))
        await self.sink.on_form(interaction, round_id, text or "")

    async def on_error(self, event_method: str, /, *args, **kwargs) -> None:
        log.exception("error in Discord event %s; carrying on", event_method)
