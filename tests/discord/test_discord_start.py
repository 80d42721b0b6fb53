"""Connecting: gateway compression, intents, the slash command sync, the daily channel from the environment."""

from __future__ import annotations

import discord
import pytest
from discord_rig import CHANNEL, GUILD

from bot.config import ConfigError
from bot.models import Bank


async def test_connects_with_minimal_intents_and_syncs_commands_once(start_bot, discord_standin):
    bot = await start_bot()
    assert bot.adapter.healthy()
    [identify] = discord_standin.identifies
    assert identify["token"] == discord_standin.token
    assert identify["intents"] == (1 << 0) | (1 << 10)  # guilds, guild message reactions
    # discord.py asks for zlib-stream (zstd-stream when the zstandard package is there: then plain frames)
    asked_zlib = discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE == "zlib-stream"
    assert (discord_standin.connections[0].zlib is not None) == asked_zlib
    [sync] = discord_standin.find("PUT", rf"/applications/{discord_standin.application_id}/commands")
    [quiz] = sync.body
    assert quiz["name"] == "quiz"
    names = [option["name"] for option in quiz["options"]]
    assert names[:len(bot.engine.bank.levels)] == list(bot.engine.bank.levels)  # system-design included
    assert {"any", "post", "leaderboard", "stats", "review", "setup", "help"} <= set(names)
    await bot.stop()
    assert not bot.adapter.healthy()

    again = await start_bot()  # same database: the tree's hash is remembered, no second sync
    assert len(discord_standin.find("PUT", r"/applications/.*/commands")) == 1
    assert again.adapter.healthy()


async def test_commands_sync_to_the_test_server_alone_when_set(start_bot, discord_standin):
    await start_bot(discord_guild_id=GUILD)
    [sync] = discord_standin.find("PUT", r"/applications/\d+/guilds/\d+/commands")
    assert sync.path == f"/applications/{discord_standin.application_id}/guilds/{GUILD}/commands"
    assert not discord_standin.find("PUT", rf"/applications/{discord_standin.application_id}/commands")
    token = await discord_standin.slash([{"name": "help", "type": 1, "options": []}], CHANNEL)
    [reply] = await discord_standin.wait_replies(token)  # guild commands are dispatched like global ones
    assert "studybot help" in reply["embeds"][0]["title"]


async def test_a_changed_command_tree_is_synced_again(start_bot, discord_standin, bank):
    first = await start_bot()
    await first.stop()
    fewer = Bank(levels=bank.levels[:2], questions=tuple(q for q in bank.questions if q.level in bank.levels[:2]))
    await start_bot(questions=fewer)
    syncs = discord_standin.find("PUT", r"/applications/\d+/commands")
    assert len(syncs) == 2
    names = [o["name"] for o in syncs[1].body[0]["options"]]
    assert bank.levels[2] not in names and bank.levels[1] in names


async def test_a_refused_sync_is_logged_and_retried_at_the_next_start(start_bot, discord_standin, caplog):
    discord_standin.refuse_sync = True
    first = await start_bot()
    assert first.adapter.healthy()  # the bot runs; the commands are what Discord had before
    assert any("could not sync slash commands" in r.getMessage() for r in caplog.records)
    await first.stop()
    discord_standin.refuse_sync = False
    await start_bot()
    assert [c.status for c in discord_standin.find("PUT", r"/applications/\d+/commands")] == [403, 200]


async def test_the_daily_channel_from_the_environment_is_registered_for_its_server(start_bot, discord_standin):
    bot = await start_bot(discord_channel=CHANNEL)
    settings = bot.engine.settings_for("discord", GUILD)
    assert settings.channel == CHANNEL and bot.store.workspace_source("discord", GUILD) == "env"


async def test_a_wrong_token_fails_the_start_clearly(start_bot, discord_standin):
    with pytest.raises(ConfigError, match="DISCORD_TOKEN: Discord refused this token"):
        await start_bot(discord_token="not-the-token")


async def test_message_content_without_the_intent_in_the_portal_fails_the_start_clearly(start_bot, discord_standin):
    discord_standin.privileged_intents = False
    with pytest.raises(ConfigError, match="STUDYBOT_DISCORD_MESSAGE_CONTENT: needs the Message Content intent"):
        await start_bot(discord_message_content=True)


def test_the_invite_url_in_the_docs_asks_for_exactly_the_needed_permissions():
    from pathlib import Path

    from adapters.discord.permissions import SCOPES, invite_url, needed

    docs = (Path(__file__).resolve().parents[2] / "docs" / "discord.md").read_text(encoding="utf-8")
    value = needed().value
    assert value == (1 << 6) + (1 << 10) + (1 << 11) + (1 << 14) + (1 << 16) + (1 << 35) + (1 << 38)
    assert f"scope=bot+applications.commands&permissions={value}" in docs
    assert invite_url(42).endswith(f"client_id=42&scope={'+'.join(SCOPES)}&permissions={value}")
    flags = ["add_reactions", "view_channel", "send_messages", "embed_links", "read_message_history",
             "create_public_threads", "send_messages_in_threads"]
    assert all(getattr(needed(), flag) for flag in flags)
