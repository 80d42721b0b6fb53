"""The team features in the console (issue 16): /quiz forget-me confirmed by a typed "yes", /quiz flag, the
/quiz suggest prompts (a broken field is asked again), and, in process with an injected clock, seasons, the
reminder before the reveal and the ping on the daily post."""

from __future__ import annotations

import io
import random
import sqlite3
from datetime import datetime, timedelta

from adapters.console import PLACE, ConsoleAdapter
from bot.clock import UTC
from bot.config import Settings
from bot.questions import load_bank
from bot.runtime import build_runtime
from bot.store import Store
from tests.conftest import DATA, FakeClock
from tests.console_process import ConsoleProcess, console_env


def test_forget_me_flag_and_suggest_in_a_real_console(tmp_path):
    with ConsoleProcess(console_env(tmp_path), tmp_path) as bot:
        bot.expect("studybot console")
        bot.send("/as nobody")
        bot.send("/quiz forget-me")
        bot.expect("keeps no data about you here: there is nothing to delete")

        bot.send("/as alice")
        bot.send("/quiz flag")
        bot.expect("You have not seen a question here yet")
        bot.send("/quiz basic")
        bot.expect("Your question · basic")
        bot.send("/quiz flag the key is wrong")
        bot.expect("Thanks: you reported")
        bot.send("/quiz flag again")
        bot.expect("You reported .* already")

        bot.send("/quiz forget-me")
        bot.expect("Delete your data\\?")
        bot.expect("Type yes to delete my data; anything else cancels.")
        bot.send("no")
        bot.expect("Cancelled: nothing changed.")
        bot.send("/quiz forget-me")
        bot.expect("Type yes to delete my data")
        bot.send("yes")
        bot.expect("Deleted your name, the text of your answers")

        bot.send("/as bob")
        bot.send("/quiz suggest")
        bot.expect("Suggest a question")
        bot.expect("^Level .*Enter alone keeps: basic")
        for line in ["", "Sampling", "What does the temperature change when sampling tokens?",
                     "How sharp the next-token distribution is", "", "7",
                     "Temperature divides the logits before the softmax: lower is sharper, higher is flatter.",
                     "divides the logits", "lower is sharper", "higher is flatter", ""]:
            bot.send(line)
        bot.expect("Your suggestion has problems")
        bot.expect("Choices, one per line .*: choices has 1 items")
        bot.expect("^Choices, one per line")  # asked again: only the fields with problems
        for line in ["How sharp the next-token distribution is", "The size of the vocabulary", ""]:
            bot.send(line)
        bot.expect("^Right choice .*Enter alone keeps: 7")
        bot.send("1")
        bot.expect(r"Thanks! Your suggestion \((\d+)\) waits")
        bot.send("/quiz suggestions")
        bot.expect("A member suggested a question")  # the admin notice (the console member is an admin)
        bot.expect("What does the temperature change when sampling tokens\\?")
        bot.send("/quiz suggestions reject 1")
        bot.expect("needs a reason")
        bot.send("/quiz suggestions approve 1")
        bot.expect("in the bank as `suggested-1`")
        bot.expect(r"\[to bob\] ─── Your suggestion")
        assert bot.close() == 0
    db = sqlite3.connect(tmp_path / "studybot.db")
    assert db.execute("SELECT COUNT(*) FROM answers WHERE name = 'alice'").fetchone()[0] == 0
    assert db.execute("SELECT status, question_id FROM suggestions WHERE id = 1").fetchone() == ("approved",
                                                                                                "suggested-1")
    assert db.execute("SELECT COUNT(*) FROM question_flags").fetchone()[0] == 1


async def test_season_reminder_and_ping_in_the_console(tmp_path):
    clock = FakeClock(datetime(2026, 3, 31, 19, 0, tzinfo=UTC))  # Berlin: 21:00 CEST, two days after the change
    settings = Settings(db_path=tmp_path / "studybot.db", daily_at=None, weekly_at=None, reveal_after=3 * 3600)
    out = io.StringIO()
    adapter = ConsoleAdapter(settings, stdin=io.StringIO(""), stdout=out)
    store = Store.open(settings.db_path)
    runtime = build_runtime(settings, load_bank(DATA / "mini_bank.yaml"), store, adapters={"console": adapter},
                            clock=clock, rng=random.Random(3))
    adapter.hub = runtime.router
    runtime.engine.workspaces.register_channel(PLACE.platform, PLACE.workspace, PLACE.channel)

    async def say(line: str) -> str:
        out.seek(0)
        out.truncate()
        await adapter.on_line(line)
        return out.getvalue()

    assert "is not a group name" in await say("/quiz setup ping=@@")
    saved = await say("/quiz setup season=quarterly timezone=Europe/Berlin remind=1h ping=@team")
    assert "Seasons: quarterly" in saved and "Reminder before the reveal: 1h" in saved
    out.truncate(0)
    await runtime.router.deliver(runtime.engine.rounds.daily_round("console", "local"))
    assert "@team" in out.getvalue().splitlines()[0]
    [rnd] = store.open_channel_rounds()
    question = runtime.engine.bank.get(rnd.question_id)
    restarted = build_runtime(settings, load_bank(DATA / "mini_bank.yaml"), store, adapters={"console": adapter},
                              clock=clock)
    restarted.scheduler.replan()  # at start: the reminder jobs are rebuilt from the open rounds
    job = restarted.scheduler.scheduler.get_job(f"remind:{rnd.id}")
    assert job is not None and job.trigger.run_date == rnd.deadline - timedelta(hours=1)
    season = restarted.scheduler.scheduler.get_job("season:console:local")
    assert season is not None and str(season.trigger.timezone) == "Europe/Berlin"
    await say(str(question.correct))
    clock.set(rnd.deadline - timedelta(hours=1))
    out.truncate(0)
    await runtime.scheduler.remind(rnd.id)
    assert "1 hour left, 1 answer so far" in out.getvalue()

    clock.set(rnd.deadline)  # 00:00 CEST on 1 April: the second quarter has begun
    await runtime.router.deliver(await runtime.engine.rounds.reveal_due_async())
    board = await say("/quiz leaderboard season")
    # revealed at midnight in Berlin (22:00 UTC): the points count in the new season
    assert "Leaderboard: season Q2 2026 (April to June)" in board and adapter.member.name[:20] in board
    out.truncate(0)
    await runtime.scheduler.season_end("console", "local")
    assert "Season Q1 2026 (January to March) is over" in out.getvalue()
    assert "Nobody scored this season" in out.getvalue()
    store.close()
