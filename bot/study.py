"""Spaced repetition (FSRS) and the team-weakness weighting of the daily question.

Every judged answer becomes (or updates) a card for that member and question.
The rating follows the answer: wrong -> Again, a weak written answer -> Hard,
right -> Good, right with a strong written answer -> Easy.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from fsrs import Card, Rating, Scheduler

from bot.clock import iso, local_date, parse_iso
from bot.events import Kind, Outgoing
from bot.models import Member, Place
from bot.store import Round

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


class Study:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.store = engine.store
        self.fsrs = Scheduler(enable_fuzzing=False, learning_steps=(), relearning_steps=())
        engine.study = self

    # ---- cards ------------------------------------------------------------------

    def after_answer(self, rnd: Round, user_id: str, correct: bool, score: float | None, now: datetime) -> None:
        key = (rnd.place.platform, rnd.place.workspace, user_id, rnd.question_id)
        row = self.store.row(
            "SELECT state FROM cards WHERE platform = ? AND workspace = ? AND user_id = ? AND question_id = ?", key
        )
        card = Card.from_dict(json.loads(row["state"])) if row else Card()
        rating = rating_for(correct, score)
        card, _ = self.fsrs.review_card(card, rating, now)
        self.store.db.execute(
            """INSERT INTO cards (platform, workspace, user_id, question_id, state, due, reviews, last_rating)
               VALUES (?, ?, ?, ?, ?, ?, 1, ?)
               ON CONFLICT (platform, workspace, user_id, question_id) DO UPDATE SET state = excluded.state,
                   due = excluded.due, reviews = reviews + 1, last_rating = excluded.last_rating""",
            (*key, json.dumps(card.to_dict()), iso(card.due), int(rating)),
        )

    def due_cards(self, platform: str, workspace: str, user_id: str, now: datetime) -> list[dict]:
        return self.store.rows(
            """SELECT question_id, due FROM cards WHERE platform = ? AND workspace = ? AND user_id = ? AND due <= ?
               ORDER BY due""",
            (platform, workspace, user_id, iso(now)),
        )

    def next_due(self, platform: str, workspace: str, user_id: str) -> datetime | None:
        row = self.store.row(
            "SELECT MIN(due) AS due FROM cards WHERE platform = ? AND workspace = ? AND user_id = ?",
            (platform, workspace, user_id),
        )
        return parse_iso(row["due"]) if row and row["due"] else None

    # ---- /quiz review --------------------------------------------------------------

    def review(self, member: Member, place: Place, args: tuple[str, ...]) -> list[Outgoing]:
        def say(text: str) -> list[Outgoing]:
            return [Outgoing(Kind.NOTICE, place, text, to=member, title="Review")]

        if args:
            if len(args) == 2 and args[0].lower() == "remind" and args[1].lower() in ("on", "off"):
                return say(self.set_reminder(member, place, args[1].lower() == "on"))
            return say("Use `/quiz review` for your next due question, or `/quiz review remind on|off`.")
        now = self.engine.clock()
        due = [c for c in self.due_cards(place.platform, place.workspace, member.user_id, now)
               if self.engine.bank.get(c["question_id"])]
        if not due:
            upcoming = self.next_due(place.platform, place.workspace, member.user_id)
            when = f" Next one is due {upcoming:%Y-%m-%d %H:%M} UTC." if upcoming else ""
            return say("Nothing is due for review." + when + " Answer more questions with `/quiz` to build your deck.")
        question = self.engine.bank.get(due[0]["question_id"])
        out = self.engine.personal_round(member, place, None, kind="review", question=question)
        note = f"{len(due)} question{'s' if len(due) != 1 else ''} due for review; here is the first."
        return [Outgoing(Kind.NOTICE, place, note, to=member, title="Review"), *out]

    def set_reminder(self, member: Member, place: Place, on: bool) -> str:
        self.store.db.execute(
            """INSERT INTO reminders (platform, workspace, user_id, enabled) VALUES (?, ?, ?, ?)
               ON CONFLICT (platform, workspace, user_id) DO UPDATE SET enabled = excluded.enabled""",
            (place.platform, place.workspace, member.user_id, int(on)),
        )
        if on:
            return "You will get one reminder a day when you have questions due for review."
        return "Review reminders are off."

    def due_reminders(self) -> list[Outgoing]:
        """One private reminder a day for each member who opted in and has cards due."""
        now = self.engine.clock()
        out = []
        for row in self.store.rows("SELECT * FROM reminders WHERE enabled = 1"):
            settings = self.engine.settings_for(row["platform"], row["workspace"])
            local_now = now.astimezone(ZoneInfo(settings.timezone))
            hour = int(settings.daily_at.split(":")[0]) if settings.daily_at else REMIND_AFTER_HOUR
            today = local_date(now, settings.timezone).isoformat()
            if local_now.hour < hour or row["last_sent"] == today:
                continue
            due = self.due_cards(row["platform"], row["workspace"], row["user_id"], now)
            if not due:
                continue
            self.store.db.execute(
                "UPDATE reminders SET last_sent = ? WHERE platform = ? AND workspace = ? AND user_id = ?",
                (today, row["platform"], row["workspace"], row["user_id"]),
            )
            place = Place(row["platform"], row["workspace"], settings.channel or "")
            member = Member(row["platform"], row["user_id"], row["user_id"])
            text = f"You have {len(due)} question{'s' if len(due) != 1 else ''} due for review: run `/quiz review`."
            out.append(Outgoing(Kind.REMINDER, place, text, to=member, title="Review reminder"))
        return out

    # ---- team weakness -------------------------------------------------------------

    def topic_weights(self, place: Place) -> dict[str, float]:
        rows = self.store.rows(
            """SELECT r.question_id, COUNT(*) AS answered, SUM(a.correct) AS correct
               FROM answers a JOIN rounds r ON r.id = a.round_id
               WHERE a.platform = ? AND a.workspace = ? AND a.correct IS NOT NULL AND r.kind IN ('daily', 'post')
               GROUP BY r.question_id""",
            (place.platform, place.workspace),
        )
        per_topic: dict[str, list[int]] = {}
        for row in rows:
            question = self.engine.bank.get(row["question_id"])
            if question is not None:
                tally = per_topic.setdefault(question.topic, [0, 0])
                tally[0] += row["answered"]
                tally[1] += row["correct"] or 0
        weights = {q.topic: topic_weight(0, 0) for q in self.engine.bank.questions}
        weights.update({topic: topic_weight(a, c) for topic, (a, c) in per_topic.items()})
        return weights

