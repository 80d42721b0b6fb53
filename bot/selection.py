"""Which question comes next.

Channel rounds: only questions asked least often in that channel are eligible,
so no question repeats before every question of its level has been asked there.
Among them, topics the team answers worst are favoured (see `team_weights`).

Personal rounds: questions the member answered in the last 30 days are skipped
while anything else is left; otherwise the one answered longest ago comes back.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from bot.models import Question

RECENT_DAYS = 30


def pick_for_channel(
    pool: list[Question], times_asked: Mapping[str, int], rng: random.Random,
    topic_weights: Mapping[str, float] | None = None,
) -> Question:
    fewest = min(times_asked.get(q.id, 0) for q in pool)
    eligible = [q for q in pool if times_asked.get(q.id, 0) == fewest]
    if not topic_weights:
        return rng.choice(eligible)
    weights = [topic_weights.get(q.topic, 1.0) for q in eligible]
    return rng.choices(eligible, weights=weights, k=1)[0]


def pick_for_member(pool: list[Question], recent: Mapping[str, str], rng: random.Random) -> Question:
    """`recent`: question id -> when the member last answered it (ISO text, within RECENT_DAYS)."""
    fresh = [q for q in pool if q.id not in recent]
    if fresh:
        return rng.choice(fresh)
    return min(pool, key=lambda q: (recent[q.id], rng.random()))
