"""The event loop's longest stall while a channel round with 1,000 written answers is revealed.

A ticker task wakes every millisecond and records how late it woke; the reveal runs the way the
scheduler runs it (Rounds.reveal_async: grading off the loop, then one transaction of writes).
Target: the longest stall stays under 50 ms.
"""

from __future__ import annotations

import asyncio
import time

from common import fresh_engine, machine, verdict

from bot import grading
from bot.events import ChoiceMade, WrittenAnswer
from bot.models import Member, Place

ANSWERS = 1000
TARGET_MS = 50.0


async def ticker(stop: asyncio.Event, lateness: list[float]) -> None:
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        lateness.append((time.perf_counter() - before - 0.001) * 1000)


async def one_run() -> tuple[float, float, int]:
    engine = fresh_engine(reveal_after=3600)
    place = Place("console", "local", "console")
    [post, *_] = engine.rounds.post_round(place, "advanced")
    question = engine.bank.get(engine.store.round(post.round_id).question_id)
    assert question is not None
    for n in range(ANSWERS):
        member = Member("console", f"m{n}", f"member {n}")
        engine.handle(ChoiceMade(member, n % 4 + 1, round_id=post.round_id))
        text = question.answer if n % 3 == 0 else " ".join(question.key_points[: n % 4]) + " and some context words"
        engine.handle(WrittenAnswer(member, text, round_id=post.round_id))
    lateness: list[float] = []
    stop = asyncio.Event()
    ticking = asyncio.create_task(ticker(stop, lateness))
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    out = await engine.rounds.reveal_async(post.round_id)
    took = time.perf_counter() - started
    await asyncio.sleep(0.02)
    stop.set()
    await ticking
    assert out, "the round was not revealed"
    return max(lateness), took, len(engine.store.answers(post.round_id))


async def main() -> None:
    grading.warm_up()  # as `studybot run` does at start
    runs = [await one_run() for _ in range(3)]
    worst = max(r[0] for r in runs)
    print(f"machine: {machine()}")
    for stall, took, count in runs:
        print(f"reveal of {count} written answers: {took * 1000:.0f} ms in all; longest loop stall {stall:.1f} ms")
    print(f"longest stall < {TARGET_MS:.0f} ms: {verdict(worst < TARGET_MS)} ({worst:.1f} ms)")


if __name__ == "__main__":
    asyncio.run(main())
