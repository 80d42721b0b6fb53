"""The router: a refused round post is reported, not confirmed, and retried until it lands; a channel round's
question is prepared for grading off the loop as it is posted."""

from __future__ import annotations

import asyncio
import threading

from bot import grading
from bot.events import CommandInvoked, Kind, Outgoing
from bot.models import RoundKind
from bot.outcomes import QuestionAsked
from bot.ports import DeliveryError, Sent
from bot.router import Router
from tests.conftest import member


class RefusingChannel:
    """A platform whose channel refuses posts until `allowed` is set (as a missing permission would)."""

    platform = "console"
    attaches_images = False

    def __init__(self) -> None:
        self.allowed = False
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing, reply=None) -> Sent | None:
        if message.kind is Kind.ROUND and not self.allowed:
            raise DeliveryError("I am missing Send Messages in #quiz.", retryable=True)
        self.sent.append(message)
        return Sent(f"m{len(self.sent)}")


async def test_refused_post_is_reported_then_retried(engine, place, clock):
    channel = RefusingChannel()
    router = Router(engine, {"console": channel})
    admin = member("admin")
    await router.deliver(await router.handle(CommandInvoked(admin, place, "post", is_admin=True)))
    [notice] = channel.sent
    assert notice.to == admin and "could not post that round" in notice.text and "Send Messages" in notice.text
    [rnd] = engine.rounds.open_rounds()
    assert rnd.message_id is None

    [warning, *_] = await router.handle(CommandInvoked(admin, place, "help", is_admin=True))
    assert "missing Send Messages" in warning.text  # told again at the next command

    channel.allowed = True
    await router.deliver(engine.rounds.unposted_rounds())  # what the scheduler's safety net does every minute
    assert channel.sent[-1].kind is Kind.ROUND and engine.store.round(rnd.id).message_id is not None
    assert engine.rounds.unposted_rounds() == []


async def test_a_posted_question_is_prepared_for_grading_once_in_a_worker_thread(engine, place, monkeypatch):
    prepared: list[tuple[str, int]] = []
    real_prepare = grading.prepare

    def prepare(question):
        prepared.append((question.id, threading.get_ident()))
        real_prepare(question)

    monkeypatch.setattr(grading, "prepare", prepare)
    channel = RefusingChannel()
    channel.allowed = True
    router = Router(engine, {"console": channel})
    admin = member("admin")
    await router.deliver(await router.handle(CommandInvoked(admin, place, "post", is_admin=True)))
    await asyncio.gather(*router._preparing)
    [rnd] = engine.rounds.open_rounds()
    [(question_id, thread)] = prepared
    assert question_id == rnd.question_id and thread != threading.get_ident()  # off the loop's thread

    # The first written answer finds the question's anchors ready: grading it computes none.
    question = engine.bank.by_id[question_id]
    misses = grading.anchors.cache_info().misses
    grading.grade_question("An answer in my own words.", question)
    assert grading.anchors.cache_info().misses == misses

    # A member's own question is not prepared in a thread: a burst of /quiz would take the GIL from the loop.
    other = next(q for q in engine.bank.questions if q.id != question_id)
    asked = Outgoing(Kind.PERSONAL, place, outcome=QuestionAsked(other, RoundKind.PERSONAL), to=admin)
    await router.deliver([asked])
    assert channel.sent[-1] is asked and len(prepared) == 1 and not router._preparing
