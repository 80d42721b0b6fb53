"""The router: a refused round post is reported, not confirmed, and retried until it lands."""

from __future__ import annotations

from bot.events import CommandInvoked, Kind, Outgoing
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
