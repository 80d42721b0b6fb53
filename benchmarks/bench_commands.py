"""/quiz through the runtime's hub (the Router, as adapters call it: the command, then its replies delivered to a
platform that takes them at once): 50 commands at once, repeated. A question asked is prepared for grading in a
worker thread as it is delivered (the grader's model loads with the first), which the latencies include.

Target: p99 latency < 20 ms, measured per command from the moment all 50 are issued together
(so a command's latency includes waiting for the ones before it).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from common import fresh_engine, machine, verdict

from bot.events import CommandInvoked, Outgoing
from bot.models import Member, Place
from bot.ports import Sent
from bot.router import Router

CONCURRENT = 50
BATCHES = 40
COMMANDS = ["advanced", "basic", "", "leaderboard", "help", "intermediate", "career", "prompt-engineering"]


class Sink:
    """A platform that takes every message at once."""

    platform = "slack"
    attaches_images = False

    async def send(self, message: Outgoing, reply: object = None) -> Sent | None:
        return Sent("m1")


async def batch(router: Router, number: int) -> list[float]:
    place = Place("slack", "T1", "C1")

    async def one(i: int, started: float) -> float:
        member = Member("slack", f"U{i}", f"member {i}")
        await router.run(CommandInvoked(member, place, COMMANDS[(i + number) % len(COMMANDS)]))
        return time.perf_counter() - started

    started = time.perf_counter()
    return list(await asyncio.gather(*(one(i, started) for i in range(CONCURRENT))))


async def run() -> list[float]:
    engine = fresh_engine()
    router = Router(engine, {"slack": Sink()})  # type: ignore[dict-item]
    latencies: list[float] = []
    for number in range(BATCHES):
        latencies += await batch(router, number)
    await asyncio.gather(*router._preparing)
    return latencies


def main() -> None:
    latencies = sorted(asyncio.run(run()))
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"machine: {machine()}")
    print(f"{len(latencies)} commands, {CONCURRENT} at a time: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
          f"max {latencies[-1] * 1000:.2f} ms")
    print(f"p99 < 20 ms: {verdict(p99 < 20)}")


if __name__ == "__main__":
    main()
