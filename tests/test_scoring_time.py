"""Streaks, weeks and timezones, the daily schedule across DST, and selection without repeats."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import UTC
from bot.events import ChoiceMade, CommandInvoked, Kind
from bot.models import Place
from bot.scheduler import daily_trigger, missed_daily
from tests.conftest import make_engine, member

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # each test on both databases

ALICE, BOB = member("alice", "slack"), member("bob", "slack")


def setup_workspace(engine, workspace: str, tz: str) -> Place:
    place = Place("slack", workspace, "C1")
    admin = member("admin", "slack")
    engine.handle(CommandInvoked(admin, place, f"setup channel=here time=09:00 days=* timezone={tz} reveal=1h",
                                 is_admin=True))
    return place


def play_daily(engine, clock, workspace: str, winners, losers=()) -> str:
    [post] = engine.rounds.daily_round("slack", workspace)
    question = engine.bank.get(engine.store.round(post.round_id).question_id)
    for who in winners:
        engine.handle(ChoiceMade(who, question.correct, round_id=post.round_id))
    for who in losers:
        engine.handle(ChoiceMade(who, question.correct % len(question.choices) + 1, round_id=post.round_id))
    clock.advance(hours=1)
    engine.rounds.reveal(post.round_id)
    return engine.store.round(post.round_id).daily_date


@pytest.mark.parametrize("tz", ["Pacific/Auckland", "America/Los_Angeles"])
def test_streaks_follow_local_days_across_week_boundary(engine, clock, tz):
    place = setup_workspace(engine, "T1", tz)
    local_nine = datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo(tz))  # Friday 09:00 local
    days = []
    for offset in range(5):  # Fri, Sat, Sun, Mon, Tue: crosses the Monday week boundary
        clock.set((local_nine + timedelta(days=offset)).astimezone(UTC))
        losers = [BOB] if offset == 2 else []
        winners = [ALICE] + ([] if offset == 2 else [BOB])
        days.append(play_daily(engine, clock, "T1", winners, losers))
    assert days == ["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01"]
    totals = {m: engine.store.member_totals("slack", "T1", m.user_id) for m in (ALICE, BOB)}
    assert totals[ALICE]["streak"] == 5 and totals[ALICE]["best_streak"] == 5
    assert totals[BOB]["streak"] == 2 and totals[BOB]["best_streak"] == 2
    # The week that started Monday 30 Nov (local) holds only Monday's and Tuesday's points.
    this_week = engine.store.standings("slack", "T1", "2026-11-30", 10)
    assert {s.name: s.points for s in this_week} == {"alice": 20, "bob": 20}
    last_week = engine.store.standings("slack", "T1", "2026-11-23", 10)
    assert {s.name: s.points for s in last_week} == {"alice": 30, "bob": 20}
    board = engine.boards.board(place, "week")
    assert "alice" in board and "20" in board


def test_missing_a_daily_round_breaks_the_streak(engine, clock):
    setup_workspace(engine, "T1", "UTC")
    clock.set(datetime(2026, 11, 23, 9, tzinfo=UTC))
    play_daily(engine, clock, "T1", [ALICE, BOB])
    clock.set(datetime(2026, 11, 24, 9, tzinfo=UTC))
    play_daily(engine, clock, "T1", [ALICE])  # bob does not answer
    assert engine.store.member_totals("slack", "T1", BOB.user_id)["streak"] == 0
    assert engine.store.member_totals("slack", "T1", ALICE.user_id)["streak"] == 2


def test_two_timezones_give_each_channel_its_own_local_date(engine, clock):
    setup_workspace(engine, "NZ", "Pacific/Auckland")
    setup_workspace(engine, "LA", "America/Los_Angeles")
    clock.set(datetime(2026, 11, 23, 20, 0, tzinfo=UTC))  # Tue 09:00 Auckland, Mon 12:00 Los Angeles
    nz = engine.store.round(engine.rounds.daily_round("slack", "NZ")[0].round_id)
    la = engine.store.round(engine.rounds.daily_round("slack", "LA")[0].round_id)
    assert (nz.daily_date, la.daily_date) == ("2026-11-24", "2026-11-23")
    assert engine.rounds.daily_round("slack", "NZ") == [] and engine.rounds.daily_round("slack", "LA") == []


def test_ties_share_a_rank(engine, clock, place):
    players = [member(n) for n in ("ann", "ben", "cat", "dan")]
    [post] = engine.rounds.post_round(place, None)
    question = engine.bank.get(engine.store.round(post.round_id).question_id)
    for who in players[:3]:
        engine.handle(ChoiceMade(who, question.correct, round_id=post.round_id))
    engine.handle(ChoiceMade(players[3], question.correct % 4 + 1, round_id=post.round_id))
    clock.advance(hours=2)
    engine.rounds.reveal(post.round_id)
    ranks = [(s.name, s.rank) for s in engine.store.standings("console", "local", None, 10)]
    assert ranks == [("ann", 1), ("ben", 1), ("cat", 1), ("dan", 4)]
    own = engine.store.standing_of("console", "local", None, players[3].user_id)
    assert own.rank == 4


def test_daily_at_nine_local_on_both_sides_of_dst_in_berlin():
    from bot.models import ChannelSettings

    settings = ChannelSettings("console", "local", "c", "09:00", "*", "Europe/Berlin", 3600, None)
    trigger = daily_trigger(settings)
    start = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # DST starts Sunday 29 March 2026
    fires = []
    for _ in range(4):
        fire = trigger.get_next_fire_time(None, start)
        fires.append(fire.astimezone(UTC).strftime("%m-%d %H:%M"))
        start = fire + timedelta(minutes=1)
    assert fires == ["03-28 08:00", "03-29 07:00", "03-30 07:00", "03-31 07:00"]
    autumn = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)  # DST ends Sunday 25 October 2026
    fire = trigger.get_next_fire_time(None, autumn)
    later = trigger.get_next_fire_time(None, fire + timedelta(minutes=1))
    assert [f.astimezone(UTC).strftime("%m-%d %H:%M") for f in (fire, later)] == ["10-25 08:00", "10-26 08:00"]


def test_daily_round_date_across_dst_uses_local_date(store, mini_bank, clock):
    engine = make_engine(store, mini_bank, clock, timezone="Europe/Berlin", reveal_after=3600)
    engine.workspaces.register_channel("console", "local", "console")
    for moment, day in ((datetime(2026, 3, 28, 8, 0, tzinfo=UTC), "2026-03-28"),
                        (datetime(2026, 3, 29, 7, 0, tzinfo=UTC), "2026-03-29")):
        clock.set(moment)
        [post] = engine.rounds.daily_round("console", "local")
        rnd = engine.store.round(post.round_id)
        assert rnd.daily_date == day
        assert rnd.posted_at.astimezone(ZoneInfo("Europe/Berlin")).hour == 9


def test_catch_up_only_within_window_and_on_scheduled_days():
    from bot.models import ChannelSettings

    weekdays = ChannelSettings("console", "local", "c", "09:00", "mon-fri", "UTC", 3600, None)
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    assert missed_daily(weekdays, monday.replace(hour=10)) == monday.replace(hour=9)
    assert missed_daily(weekdays, monday.replace(hour=8, minute=59)) is None
    assert missed_daily(weekdays, monday.replace(hour=11, minute=30)) is None  # over 2 hours late
    saturday = datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert missed_daily(weekdays, saturday) is None


def test_channel_never_repeats_until_level_exhausted(store, clock):
    from bot.questions import load_bank
    from tests.conftest import REPO

    bank = load_bank(REPO / "questions.yaml")
    engine = make_engine(store, bank, clock, reveal_after=60)
    place = Place("console", "local", "console")
    level = "advanced"
    pool = [q for q in bank.of_level(level) if not q.is_open]  # channels draw open-ended ones only by opt-in
    size = len(pool)
    asked = []
    for _ in range(size * 2 + 3):
        [post] = engine.rounds.post_round(place, level)
        asked.append(engine.store.round(post.round_id).question_id)
    first, second = asked[:size], asked[size : 2 * size]
    assert len(set(first)) == size and len(set(second)) == size
    assert set(first) == {q.id for q in pool}


def test_personal_rounds_avoid_recent_answers(engine, place, clock):
    alice = member("alice")
    seen = []
    for _ in range(3):  # the basic level of the mini bank has 3 questions
        [q] = engine.handle(CommandInvoked(alice, place, "basic"))
        engine.handle(ChoiceMade(alice, 1, round_id=q.round_id))
        seen.append(engine.store.round(q.round_id).question_id)
        clock.advance(minutes=5)
    assert len(set(seen)) == 3
    [q] = engine.handle(CommandInvoked(alice, place, "basic"))
    assert engine.store.round(q.round_id).question_id == seen[0]  # the one answered longest ago


def test_weekly_board_posts_last_week_once(engine, clock):
    place = setup_workspace(engine, "T1", "UTC")
    clock.set(datetime(2026, 11, 24, 9, tzinfo=UTC))
    play_daily(engine, clock, "T1", [ALICE])
    clock.set(datetime(2026, 11, 30, 9, tzinfo=UTC))  # next Monday
    [board] = engine.boards.weekly_board("slack", "T1")
    assert board.kind is Kind.BOARD and board.place == place and "2026-11-23" in board.title
    assert "alice" in board.text and board.to is None
    assert engine.boards.weekly_board("slack", "T1") == []


async def test_setup_reschedules_the_daily_and_weekly_jobs(engine, clock, place):
    from bot.scheduler import QuizScheduler

    sent = []

    async def deliver(messages):
        sent.extend(messages)

    scheduler = QuizScheduler(engine, deliver)
    engine.events.subscribe(scheduler.on_engine_event)
    await scheduler.start()
    try:
        assert scheduler.scheduler.get_job("daily:console:local") is None  # no channel yet
        admin = member("admin")
        engine.handle(CommandInvoked(admin, place, "setup channel=here time=07:30 days=mon-fri "
                                                   "timezone=Europe/Berlin weekly=\"fri 16:00\"", is_admin=True))
        daily = scheduler.scheduler.get_job("daily:console:local")
        weekly = scheduler.scheduler.get_job("weekly:console:local")
        fire = daily.trigger.get_next_fire_time(None, clock())
        assert fire.astimezone(ZoneInfo("Europe/Berlin")).strftime("%a %H:%M") == "Tue 07:30"  # clock: Mon 10:00 Berlin
        assert weekly.trigger.get_next_fire_time(None, clock()).astimezone(ZoneInfo("Europe/Berlin")).strftime(
            "%a %H:%M") == "Fri 16:00"
        engine.handle(CommandInvoked(admin, place, "setup time=off weekly=off", is_admin=True))
        assert scheduler.scheduler.get_job("daily:console:local") is None
        assert scheduler.scheduler.get_job("weekly:console:local") is None
        [post] = engine.rounds.post_round(place, None)  # a round opened by a command gets its reveal job
        assert scheduler.scheduler.get_job(f"reveal:{post.round_id}") is not None
    finally:
        scheduler.shutdown()
