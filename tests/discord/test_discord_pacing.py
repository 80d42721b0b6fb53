"""Requests are spaced under the global limit, in arrival order; interaction answers skip the queue."""

from __future__ import annotations

import asyncio
import time

import discord

from adapters.discord.pacing import Pacer, pace_requests


class RecordingHttp:
    def __init__(self) -> None:
        self.seen: list[tuple[str, float]] = []

    async def request(self, route, **_kwargs):
        self.seen.append((route.path, time.monotonic()))


async def test_requests_are_spaced_and_keep_their_order():
    http = RecordingHttp()
    pace_requests(http, Pacer(per_second=200))
    routes = [discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=n) for n in range(40)]
    started = time.monotonic()
    await asyncio.gather(*(http.request(route) for route in routes))
    elapsed = time.monotonic() - started
    assert len(http.seen) == 40 and elapsed >= 39 / 200 * 0.95
    gaps = [b[1] - a[1] for a, b in zip(http.seen, http.seen[1:])]
    assert min(gaps) >= 1 / 200 * 0.8
    window = max(sum(1 for _, t in http.seen if start <= t < start + 0.1) for _, start in http.seen)
    assert window <= 21  # never more than the rate allows in any tenth of a second


async def test_interaction_answers_are_not_queued():
    http = RecordingHttp()
    pacer = Pacer(per_second=2)
    pace_requests(http, pacer)
    fanout = [discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=n) for n in range(3)]
    tasks = [asyncio.create_task(http.request(route)) for route in fanout]
    await asyncio.sleep(0.01)
    callback = discord.http.Route("POST", "/interactions/{interaction_id}/{interaction_token}/callback",
                                  interaction_id=1, interaction_token="t")
    started = time.monotonic()
    await http.request(callback)
    assert time.monotonic() - started < 0.2  # not behind the 1.5 s of queued posts
    for task in tasks:
        task.cancel()
