"""Shards split between processes: STUDYBOT_DISCORD_SHARDS=0-1/4 in one, 2-3/4 in the other.

Each process (here: a runtime of its own in the test's loop, on its own database connection to one file)
opens gateway connections for its two shards; the stand-in sends each server's events on its shard's
connection only. Each process posts the daily rounds of its own servers, every server gets exactly one,
and slash commands work on every shard.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from discord_rig import Clock, text_of
from discord_standin import DiscordStandIn, shard_of

from adapters.discord import DiscordAdapter
from bot.config import ConfigError, Settings, load_settings
from bot.events import Kind
from bot.models import ChannelSettings
from bot.runtime import build_runtime
from bot.store import Store

COUNT = 4
# One server per shard: a server's shard is (id >> 22) % 4.
GUILDS = {shard: str(((1 << 41) + 4 * 1000 + shard) << 22 | 12345) for shard in range(COUNT)}
CHANNELS = {shard: str(1110000000000000100 + shard) for shard in range(COUNT)}
HELP = [{"name": "help", "type": 1, "options": []}]


@pytest.fixture
async def sharded_standin():
    standin = await DiscordStandIn().start()
    for shard, guild in GUILDS.items():
        assert shard_of(guild, COUNT) == shard
        standin.add_guild(guild, name=f"server on shard {shard}")
        standin.add_channel(guild, "llm-prep", CHANNELS[shard])
    yield standin
    await standin.close()


class Process:
    """What one `studybot run` with STUDYBOT_DISCORD_SHARDS holds: its adapter, runtime and database connection."""

    def __init__(self, settings: Settings, bank, clock: Clock) -> None:
        self.store = Store.open(settings.db_path)
        self.adapter = DiscordAdapter(settings, guild_ready_timeout=0.05, connect_timeout=20, identify_spacing=0)
        self.runtime = build_runtime(settings, bank, self.store, adapters={"discord": self.adapter}, clock=clock,
                                     rng=random.Random(3))
        self.posted: list[str] = []  # the channels this process posted rounds in
        send = self.adapter.send

        async def recording_send(message, reply=None):
            if message.kind is Kind.ROUND:
                self.posted.append(message.place.channel)
            return await send(message, reply)

        self.adapter.send = recording_send  # type: ignore[method-assign]

    async def start(self) -> None:
        await self.adapter.start(self.runtime.router)
        await self.runtime.scheduler.start()

    async def stop(self) -> None:
        self.runtime.scheduler.shutdown()
        await self.adapter.stop()
        self.store.close()


async def test_two_processes_of_two_shards_post_their_own_servers_rounds_once_and_answer_on_every_shard(
        sharded_standin, tmp_path, bank):
    standin = sharded_standin
    base = Settings(db_path=tmp_path / "studybot.db", discord_token=standin.token, discord_api_url=standin.api_url,
                    discord_gateway_url=standin.gateway_url, daily_at="09:00", weekly_at=None, reveal_after=3600)
    store = Store.open(base.db_path)  # every server set up with its channel (as /quiz setup would)
    clock = Clock()
    for shard, guild in GUILDS.items():
        store.save_workspace(ChannelSettings("discord", guild, CHANNELS[shard], "09:00", "*", "UTC", 3600, None),
                             "setup", clock())
    store.close()

    processes = [Process(replace(base, discord_shards=((0, 1), COUNT)), bank, clock),
                 Process(replace(base, discord_shards=((2, 3), COUNT)), bank, clock)]
    try:
        for process in processes:
            await process.start()
            assert process.adapter.healthy()
        shards = sorted(tuple(i["shard"]) for i in standin.identifies)
        assert shards == [(0, COUNT), (1, COUNT), (2, COUNT), (3, COUNT)]
        first, second = processes
        assert sorted(g.id for g in first.adapter.client.guilds) == sorted(int(GUILDS[s]) for s in (0, 1))
        assert sorted(g.id for g in second.adapter.client.guilds) == sorted(int(GUILDS[s]) for s in (2, 3))

        # Each process has the daily jobs of its own servers only, and posts those.
        for process, own in ((first, (0, 1)), (second, (2, 3))):
            jobs = sorted(j.id for j in process.runtime.scheduler.scheduler.get_jobs() if j.id.startswith("daily:"))
            assert jobs == sorted(f"daily:discord:{GUILDS[s]}" for s in own)
            for job in process.runtime.scheduler.scheduler.get_jobs():
                if job.id.startswith("daily:"):
                    await job.func(*job.args)  # the job firing at 09:00
        assert sorted(first.posted) == [CHANNELS[0], CHANNELS[1]]
        assert sorted(second.posted) == [CHANNELS[2], CHANNELS[3]]

        # Had both taken every server (claims through the database), still one round each.
        for process in processes:
            for guild in GUILDS.values():
                await process.runtime.scheduler.daily("discord", guild)
        for shard, channel in CHANNELS.items():
            posts = [c for c in standin.find("POST", rf"/channels/{channel}/messages") if c.status == 200]
            assert len(posts) == 1, f"server on shard {shard}"
        assert len(first.posted) + len(second.posted) == COUNT

        # A slash command in each server reaches the process of its shard, and is answered.
        for shard, guild in GUILDS.items():
            token = await standin.slash(HELP, CHANNELS[shard], guild_id=guild)
            [reply] = await standin.wait_replies(token, timeout=10)
            assert "studybot help" in text_of(reply)
    finally:
        for process in processes:
            await process.stop()


async def test_without_shards_set_the_client_runs_as_many_as_discord_recommends(sharded_standin, tmp_path, bank):
    standin = sharded_standin
    standin.recommended_shards = 2
    settings = Settings(db_path=tmp_path / "studybot.db", discord_token=standin.token, discord_api_url=standin.api_url,
                        discord_gateway_url=standin.gateway_url, daily_at=None, weekly_at=None)
    process = Process(settings, bank, Clock())
    try:
        await process.start()
        assert sorted(tuple(i["shard"]) for i in standin.identifies) == [(0, 2), (1, 2)]
        assert len(process.adapter.client.guilds) == COUNT and process.adapter.healthy()
        assert all(process.adapter.serves(guild) for guild in GUILDS.values())
        for shard, guild in GUILDS.items():
            token = await standin.slash(HELP, CHANNELS[shard], guild_id=guild)
            assert await standin.wait_replies(token, timeout=10)
    finally:
        await process.stop()


@pytest.mark.parametrize("value", ["4/4", "2-1/4", "0-1", "a-b/4", "0-1/0"])
def test_a_bad_shard_setting_names_itself(value):
    with pytest.raises(ConfigError) as error:
        load_settings({"STUDYBOT_DISCORD_SHARDS": value}, dotenv=None)
    assert error.value.setting == "STUDYBOT_DISCORD_SHARDS"


def test_shard_settings_parse():
    assert load_settings({"STUDYBOT_DISCORD_SHARDS": "0-3/8"}, dotenv=None).discord_shards == ((0, 1, 2, 3), 8)
    assert load_settings({"STUDYBOT_DISCORD_SHARDS": "5/8"}, dotenv=None).discord_shards == ((5,), 8)
    assert load_settings({}, dotenv=None).discord_shards is None
