"""Requests get send slots spaced under the global limit, in arrival order; interaction answers skip the queue.

The clock and the sleep are injected: the pacer promises slot spacing, and a
fake clock checks exactly that, whatever the machine's load.
"""

from __future__ import annotations

import asyncio
import itertools

import discord

from adapters.discord.pacing import Pacer, pace_requests


class FakeClock:
    """Time that moves only when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class RecordingHttp:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.seen: list[tuple[int | None, float]] = []

    async def request(self, route, **_kwargs):
        self.seen.append((route.channel_id, self.clock()))


async def test_requests_are_spaced_and_keep_their_order():
    clock = FakeClock()
    http = RecordingHttp(clock)
    pace_requests(http, Pacer(per_second=200, clock=clock, sleep=clock.sleep))
    routes = [discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=n) for n in range(40)]
    await asyncio.gather(*(http.request(route) for route in routes))
    assert [channel for channel, _ in http.seen] == list(range(40))  # arrival order
    times = [t for _, t in http.seen]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1 / 200 - 1e-9  # no request before its slot
    assert times[-1] - times[0] >= 39 / 200 - 1e-9
    window = max(sum(1 for t in times if start <= t < start + 0.1 - 1e-9) for start in times)
    assert window <= 20  # never more than the rate allows in any tenth of a second


async def test_an_idle_pacer_does_not_wait():
    clock = FakeClock()
    pacer = Pacer(per_second=10, clock=clock, sleep=clock.sleep)
    assert await pacer.wait() == clock.now
    clock.now += 5  # long after the last slot
    assert await pacer.wait() == clock.now
    assert clock.slept == []


async def test_interaction_answers_are_not_queued():
    clock = FakeClock()
    http = RecordingHttp(clock)
    release = asyncio.Event()

    async def stalled_sleep(seconds: float) -> None:  # queued posts wait until released
        await release.wait()

    pace_requests(http, Pacer(per_second=2, clock=clock, sleep=stalled_sleep))
    fanout = [discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=n) for n in range(3)]
    tasks = [asyncio.create_task(http.request(route)) for route in fanout]
    await asyncio.sleep(0)
    callback = discord.http.Route("POST", "/interactions/{interaction_id}/{interaction_token}/callback",
                                  interaction_id=1, interaction_token="t")
    await http.request(callback)
    assert [channel for channel, _ in http.seen] == [0, None]  # the answer went out while posts 1 and 2 wait
    release.set()
    await asyncio.gather(*tasks)
    assert [channel for channel, _ in http.seen] == [0, None, 1, 2]
