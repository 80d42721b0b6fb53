"""Several replicas on one database: each piece of work is claimed in the database, so it happens once.

Each "replica" here is a Store connection, an engine, a router and a scheduler of its own, on one database
(a SQLite file, or a PostgreSQL database), as separate `studybot run` processes have;
tests/slack/test_slack_replicas.py runs real processes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import pytest

from adapters.slack.dedupe import RecentEvents
from bot.engine import QuizEngine
from bot.events import ChoiceMade, CommandInvoked, Kind, Outgoing
from bot.models import Place
from bot.ports import Sent
from bot.router import POST_LEASE_SECONDS, Router
from bot.scheduler import QuizScheduler
from bot.store import Store
from tests.conftest import make_engine, member

pytestmark = pytest.mark.backends("sqlite", "postgresql")

PLACE_ARGS = ("console", "local", "console")
PLACE = Place(*PLACE_ARGS)


class Channel:
    """A chat platform that records what it was sent; `hold` keeps round posts in flight until it is set."""

    platform = "console"
    attaches_images = False

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.hold: asyncio.Event | None = None

    async def send(self, message: Outgoing, reply=None) -> Sent | None:
        if message.kind is Kind.ROUND and self.hold is not None:
            await self.hold.wait()
        self.sent.append(message)
        return Sent(f"m{message.round_id}-{len(self.sent)}")

    def of(self, kind: Kind) -> list[Outgoing]:
        return [m for m in self.sent if m.kind is kind]


@dataclass
class Replica:
    store: Store
    engine: QuizEngine
    channel: Channel
    router: Router
    scheduler: QuizScheduler


@pytest.fixture
async def replicas(database, mini_bank, clock):
    made: list[Replica] = []

    def make(count: int = 2) -> list[Replica]:
        for _ in range(count):
            store = Store.open(database)
            engine = make_engine(store, mini_bank, clock, reveal_after=3600)
            channel = Channel()
            router = Router(engine, {"console": channel})
            scheduler = QuizScheduler(engine, router.deliver, router.serves)
            scheduler.holder = f"replica-{len(made)}"  # one process here, so each gets its own name
            router.holder = scheduler.holder
            engine.events.subscribe(scheduler.on_engine_event)
            made.append(Replica(store, engine, channel, router, scheduler))
        return made

    yield make
    for replica in made:
        replica.scheduler.shutdown()
        replica.store.close()


def setup_daily(replica: Replica, time: str = "09:00") -> None:
    admin = member("admin")
    replica.engine.handle(CommandInvoked(admin, PLACE, f"setup channel=here time={time} days=* "
                                                                   "weekly=\"mon 09:00\"", is_admin=True))


def test_a_claim_is_a_lease_taken_by_one_holder_at_a_time(store, clock):
    now = clock()
    assert store.claim("reveal:1", "a", now, 60)
    assert not store.claim("reveal:1", "b", now, 60)
    assert not store.claim("reveal:1", "a", now + timedelta(seconds=59), 60)  # not even its holder, twice
    assert store.claim("reveal:1", "b", now + timedelta(seconds=60), 60)  # lapsed: a died holding it
    store.release("reveal:1", "a")  # not a's any more: nothing happens
    assert not store.claim("reveal:1", "c", now + timedelta(seconds=61), 60)
    store.release("reveal:1", "b")
    assert store.claim("reveal:1", "c", now + timedelta(seconds=61), 60)
    store.sweep_claims(now + timedelta(hours=1))
    assert store.rows("SELECT * FROM claims") == []
    assert store.claim_once("weekly:x") and not store.claim_once("weekly:x")


async def test_the_daily_round_is_posted_once_whichever_replicas_fire(replicas):
    a, b, c = replicas(3)
    setup_daily(a)
    await asyncio.gather(*(r.scheduler.daily(*PLACE_ARGS[:2]) for r in (a, b, c)))
    posts = [m for r in (a, b, c) for m in r.channel.of(Kind.ROUND)]
    assert len(posts) == 1
    assert len(a.store.rows("SELECT id FROM rounds WHERE kind = 'daily'")) == 1


async def test_a_round_is_revealed_once_by_one_replica_and_the_answers_of_all_count(replicas, clock):
    a, b, c = replicas(3)
    setup_daily(a)
    await a.scheduler.daily(*PLACE_ARGS[:2])
    [post] = a.channel.of(Kind.ROUND)
    question = a.engine.bank.get(a.store.round(post.round_id).question_id)
    for n, replica in enumerate((a, b, c, a, b)):  # answers reach whichever replica the platform picked
        replica.engine.handle(ChoiceMade(member(f"m{n}"), question.correct, round_id=post.round_id))
    b.engine.handle(ChoiceMade(member("m0"), 1, round_id=post.round_id))  # a second pick changes nothing
    for replica in (b, c):
        replica.scheduler.follow_open_rounds()  # what their poll does: a reveal job for a round another opened
        assert replica.scheduler.scheduler.get_job(f"reveal:{post.round_id}") is not None
    clock.advance(hours=1)
    await asyncio.gather(*(r.scheduler.reveal(post.round_id) for r in (a, b, c)),
                         *(r.scheduler.safety_net() for r in (a, b, c)), *(r.scheduler.poll() for r in (b, c)))
    reveals = [m for r in (a, b, c) for m in r.channel.of(Kind.REVEAL)]
    assert len(reveals) == 1
    answers = a.store.answers(post.round_id)
    assert len(answers) == 5 and all(x.points == 10 for x in answers)
    assert {s.name for s in a.store.standings("console", "local", None, 10)} == {f"m{n}" for n in range(5)}


async def test_a_reveal_claimed_by_a_replica_that_died_is_taken_over_when_its_lease_lapses(replicas, clock):
    from bot.scheduler import REVEAL_LEASE_SECONDS

    a, b = replicas(2)
    setup_daily(a)
    await a.scheduler.daily(*PLACE_ARGS[:2])
    [post] = a.channel.of(Kind.ROUND)
    clock.advance(hours=1)
    assert a.store.claim(f"reveal:{post.round_id}", "replica-0", clock(), REVEAL_LEASE_SECONDS)  # ... and a dies
    await b.scheduler.poll()
    assert b.channel.of(Kind.REVEAL) == []  # a might still be grading it
    clock.advance(seconds=REVEAL_LEASE_SECONDS)
    await b.scheduler.poll()
    assert len(b.channel.of(Kind.REVEAL)) == 1


async def test_a_post_in_flight_on_one_replica_is_not_doubled_by_another(replicas, clock):
    a, b = replicas(2)
    a.channel.hold = asyncio.Event()
    [post] = a.engine.rounds.post_round(PLACE, None)
    in_flight = asyncio.create_task(a.router.deliver([post]))
    await asyncio.sleep(0.01)
    await b.scheduler.safety_net()  # b sees a round without its message id: a is posting it
    assert b.channel.sent == []
    a.channel.hold.set()
    await in_flight
    await b.scheduler.safety_net()
    assert len(a.channel.of(Kind.ROUND)) == 1 and b.channel.sent == []

    # A replica that claimed a post and died: another posts it once the lease lapsed.
    [other] = b.engine.rounds.post_round(PLACE, None)
    assert a.store.claim(f"post:{other.round_id}", "replica-0", clock(), POST_LEASE_SECONDS)
    await b.scheduler.safety_net()
    assert b.channel.sent == []
    clock.advance(seconds=POST_LEASE_SECONDS)
    await b.scheduler.safety_net()
    assert [m.round_id for m in b.channel.of(Kind.ROUND)] == [other.round_id]


async def test_the_weekly_board_is_posted_once_whichever_replicas_fire(replicas, clock):
    a, b, c = replicas(3)
    setup_daily(a)
    clock.advance(days=7)
    await asyncio.gather(*(r.scheduler.weekly(*PLACE_ARGS[:2]) for r in (a, b, c)))
    assert len([m for r in (a, b, c) for m in r.channel.of(Kind.BOARD)]) == 1


async def test_settings_changed_on_one_replica_move_the_jobs_of_the_others(replicas, clock):
    a, b = replicas(2)
    await b.scheduler.start()
    assert b.scheduler.scheduler.get_job("daily:console:local") is None
    setup_daily(a, "07:30")
    await b.scheduler.poll()
    job = b.scheduler.scheduler.get_job("daily:console:local")
    assert job is not None and job.trigger.get_next_fire_time(None, clock()).strftime("%H:%M") == "07:30"

    # a moves the time; b's job of the old time fires before b polled: it posts nothing, and moves itself
    setup_daily(a, "10:15")
    await b.scheduler.daily(*PLACE_ARGS[:2])
    assert b.channel.sent == []
    job = b.scheduler.scheduler.get_job("daily:console:local")
    assert job.trigger.get_next_fire_time(None, clock()).strftime("%H:%M") == "10:15"
    await b.scheduler.daily(*PLACE_ARGS[:2])  # the job of the current time posts
    assert len(b.channel.of(Kind.ROUND)) == 1


def test_a_retried_slack_event_is_taken_once_whichever_replica_it_reaches(replicas):
    a, b = replicas(2)
    seen_a, seen_b = RecentEvents(ledger=a.store), RecentEvents(ledger=b.store)
    assert seen_a.first_time("Ev1")
    assert not seen_b.first_time("Ev1")  # Slack's retry, to the other replica
    assert not seen_a.first_time("Ev1")  # and to the same one (no query: its memory)
    assert seen_b.first_time("Ev2") and not seen_a.first_time("Ev2")
    assert len(a.store.rows("SELECT * FROM slack_events")) == 2


async def test_a_daily_round_whose_job_failed_is_opened_by_the_next_safety_net(replicas, clock):
    """The database was unreachable at the daily time (the job failed): the next safety net opens it, once."""
    [a] = replicas(1)
    setup_daily(a, "09:30")  # at 09:00
    clock.advance(minutes=35)  # 09:35: the job fired and failed
    await a.scheduler.safety_net()
    await a.scheduler.safety_net()
    assert len(a.channel.of(Kind.ROUND)) == 1
    assert len(a.store.rows("SELECT id FROM rounds WHERE kind = 'daily'")) == 1

    # A channel set up after its time passed waits for the next day, as it always did.
    late = Place("console", "other", "c2")
    a.engine.handle(CommandInvoked(member("admin"), late, "setup channel=here time=09:00 days=*", is_admin=True))
    await a.scheduler.safety_net()
    assert len(a.channel.of(Kind.ROUND)) == 1
