"""/quiz through the runtime's hub (the Router, as adapters call it): 50 commands at once, repeated.

Target: p99 latency < 20 ms, measured per command from the moment all 50 are issued together
(so a command's latency includes waiting for the ones before it).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from common import fresh_engine, machine, verdict

from bot.events import CommandInvoked
from bot.models import Member, Place
from bot.router import Router

CONCURRENT = 50
BATCHES = 40
COMMANDS = ["advanced", "basic", "", "leaderboard", "help", "intermediate", "career", "prompt-engineering"]


async def batch(router: Router, number: int) -> list[float]:
    place = Place("slack", "T1", "C1")

    async def one(i: int, started: float) -> float:
        member = Member("slack", f"U{i}", f"member {i}")
        await router.handle(CommandInvoked(member, place, COMMANDS[(i + number) % len(COMMANDS)]))
        return time.perf_counter() - started

    started = time.perf_counter()
    return list(await asyncio.gather(*(one(i, started) for i in range(CONCURRENT))))


async def run() -> list[float]:
    engine = fresh_engine()
    router = Router(engine, {})
    latencies: list[float] = []
    for number in range(BATCHES):
        latencies += await batch(router, number)
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
