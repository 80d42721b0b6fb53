"""Property-based: mangled gateway events reach the real discord.py client; the bot stays up and keeps counting."""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path

from discord_rig import CHANNEL, GUILD, Clock
from discord_standin import DiscordStandIn, sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord import DiscordAdapter
from bot.config import DEFAULT_QUESTIONS, Settings
from bot.models import Place
from bot.questions import load_bank
from bot.router import Router
from bot.runtime import build_engine
from bot.store import Store
from tests.payload_fuzz import mangled

BANK = load_bank(DEFAULT_QUESTIONS)
EVENTS = st.one_of(
    st.tuples(st.just("MESSAGE_REACTION_ADD"), mangled(sample("message_reaction_add"))),
    st.tuples(st.just("MESSAGE_CREATE"), mangled(sample("message_create_in_thread"))),
    st.tuples(st.just("INTERACTION_CREATE"), mangled(sample("interaction_message_component"))),
    st.tuples(st.just("INTERACTION_CREATE"), mangled(sample("interaction_modal_submit"))),
    st.tuples(st.just("INTERACTION_CREATE"), mangled(sample("interaction_application_command"))),
)


async def scenario(events: list[tuple[str, dict]], directory: Path) -> None:
    standin = await DiscordStandIn().start()
    standin.add_guild(GUILD)
    standin.add_channel(GUILD, "llm-prep", CHANNEL)
    settings = Settings(db_path=directory / "studybot.db", discord_token=standin.token, discord_api_url=standin.api_url,
                        discord_gateway_url=standin.gateway_url, daily_at=None, weekly_at=None, reveal_after=3600,
                        discord_message_content=True)
    store = Store.open(settings.db_path)
    engine = build_engine(store, BANK, settings, clock=Clock(), rng=random.Random(1))
    adapter = DiscordAdapter(settings, guild_ready_timeout=0.05, connect_timeout=10)
    router = Router(engine, {"discord": adapter})
    try:
        await adapter.start(router)
        await router.deliver(engine.rounds.post_round(Place("discord", GUILD, CHANNEL), None))
        [rnd] = engine.rounds.open_rounds()
        for name, data in events:  # aimed at the round post where the shape allows
            if name == "MESSAGE_REACTION_ADD" and isinstance(data, dict) and "message_id" in data:
                data["message_id"] = rnd.message_id
            await standin.dispatch(name, data)
        member = standin.member("1300000000000000042", "Still Counting")
        await standin.react(rnd.message_id, CHANNEL, "2️⃣", member)
        await standin.wait_for(lambda: store.answer(rnd.id, "1300000000000000042") is not None, what="the answer")
        assert adapter.healthy()
    finally:
        await adapter.stop()
        await standin.close()
        store.close()


@given(st.lists(EVENTS, min_size=20, max_size=20))
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_mangled_gateway_events_never_stop_the_bot(events):
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(scenario(events, Path(directory)))
