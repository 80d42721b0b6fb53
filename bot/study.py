"""Spaced repetition (FSRS) and the team-weakness weighting of the daily question.

Every judged answer becomes (or updates) a card for that member and question.
The rating follows the answer: wrong -> Again, a weak written answer -> Hard,
right -> Good, right with a strong written answer -> Easy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from fsrs import Card, Rating, Scheduler

from bot.clock import Clock, local_date
from bot.events import Kind, Outgoing
from bot.models import Bank, ChannelSettings, Member, Place, Round
from bot.outcomes import ReviewReminder
from bot.store import Store

SettingsFor = Callable[[str, str], ChannelSettings]

EASY_SCORE = 0.8  # a written score at or above this, with a right answer, rates Easy
WEAK_SCORE = 0.3  # below this a written-only answer rates Again; up to the pass mark, Hard
REMIND_AFTER_HOUR = 9  # reminders go out after this local hour when a workspace has no daily time


def rating_for(correct: bool, score: float | None) -> Rating:
    if correct:
        return Rating.Easy if score is not None and score >= EASY_SCORE else Rating.Good
    if score is not None and score >= WEAK_SCORE:
        return Rating.Hard
    return Rating.Again


def topic_weight(answered: int, correct: int) -> float:
    """Daily selection weight of a topic: 1 + 2 x the team's smoothed error rate on it.

    Smoothing ((wrong + 1) / (answered + 2)) gives a topic nobody answered yet an
    error rate of 0.5, so new topics still come up; a topic the team always gets
    right tends to weight 1, one it always misses to weight 3.
    """
    error_rate = (answered - correct + 1) / (answered + 2)
    return 1.0 + 2.0 * error_rate


def _card_id(user_id: str, question_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{user_id}/{question_id}".encode(), digest_size=6).digest(), "big")


class Study:
    """FSRS cards after every judged answer, the review queue, reminders, and the team's weak topics."""

    def __init__(self, store: Store, bank: Bank, clock: Clock, settings_for: SettingsFor) -> None:
        self.store = store
        self.bank = bank
        self.clock = clock
        self.settings_for = settings_for
        self.fsrs = Scheduler(enable_fuzzing=False, learning_steps=(), relearning_steps=())

    # ---- cards ------------------------------------------------------------------

    def after_answer(self, rnd: Round, user_id: str, correct: bool, score: float | None, now: datetime) -> None:
        place = rnd.place
        state = self.store.card_state(place.platform, place.workspace, user_id, rnd.question_id)
        [(_, new_state, due, rating)] = self.reviewed(rnd.question_id, [(user_id, correct, score)],
                                                     {user_id: state} if state else {}, now)
        self.store.save_card(place.platform, place.workspace, user_id, rnd.question_id, new_state, due, rating)

    def reviewed(self, question_id: str, results: Sequence[tuple[str, bool, float | None]], states: dict[str, str],
                 now: datetime) -> list[tuple[str, str, datetime, int]]:
        """The cards after these answers, (user_id, state, due, rating) each; pure, so a reveal runs it in a thread.

        `results`: (user_id, correct, score) per answer; `states`: the members' current cards, by user id.
        """
        out = []
        for user_id, correct, score in results:
            state = states.get(user_id)
            # A new Card() sleeps 1 ms to make its id unique (fsrs); our cards are keyed by member and question anyway.
            card = Card.from_dict(json.loads(state)) if state else Card(card_id=_card_id(user_id, question_id))
            rating = rating_for(correct, score)
            card, _ = self.fsrs.review_card(card, rating, now)
            out.append((user_id, json.dumps(card.to_dict()), card.due, int(rating)))
        return out

    def due(self, member: Member, place: Place) -> list[str]:
        """Ids of the member's questions due for review now (still in the bank, not marked broken), most overdue
        first."""
        now = self.clock()
        broken = self.store.broken_questions()
        return [c["question_id"] for c in self.store.due_cards(place.platform, place.workspace, member.user_id, now)
                if self.bank.get(c["question_id"]) and c["question_id"] not in broken]

    def next_due(self, member: Member, place: Place) -> datetime | None:
        return self.store.next_due(place.platform, place.workspace, member.user_id)

    def set_reminder(self, member: Member, place: Place, on: bool) -> None:
        self.store.set_reminder(place.platform, place.workspace, member.user_id, on)

    def due_reminders(self) -> list[Outgoing]:
        """One private reminder a day for each member who opted in and has cards due."""
        now = self.clock()
        out = []
        for row in self.store.enabled_reminders():
            settings = self.settings_for(row["platform"], row["workspace"])
            local_now = now.astimezone(ZoneInfo(settings.timezone))
            hour = int(settings.daily_at.split(":")[0]) if settings.daily_at else REMIND_AFTER_HOUR
            today = local_date(now, settings.timezone).isoformat()
            if local_now.hour < hour or row["last_sent"] == today:
                continue
            due = self.store.due_cards(row["platform"], row["workspace"], row["user_id"], now)
            if not due:
                continue
            self.store.mark_reminded(row["platform"], row["workspace"], row["user_id"], today)
            place = Place(row["platform"], row["workspace"], settings.channel or "")
            member = Member(row["platform"], row["user_id"], row["user_id"])
            out.append(Outgoing(Kind.REMINDER, place, outcome=ReviewReminder(len(due)), to=member))
        return out

    # ---- team weakness -------------------------------------------------------------

    def topic_weights(self, place: Place) -> dict[str, float]:
        per_topic: dict[str, list[int]] = {}
        for row in self.store.channel_tallies(place.platform, place.workspace):
            question = self.bank.get(row["question_id"])
            if question is not None:
                tally = per_topic.setdefault(question.topic, [0, 0])
                tally[0] += row["answered"]
                tally[1] += row["correct"] or 0
        weights = {q.topic: topic_weight(0, 0) for q in self.bank.questions}
        weights.update({topic: topic_weight(a, c) for topic, (a, c) in per_topic.items()})
        return weights
