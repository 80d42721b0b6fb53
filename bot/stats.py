"""A member's record and the team's weak topics, from stored answers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bot.models import Bank, Member, Place
from bot.store import Store

WEAKEST_SHOWN = 3
MIN_ANSWERS_FOR_WEAKNESS = 2  # a topic answered once says little about a weakness


@dataclass
class Tally:
    answered: int = 0
    correct: int = 0

    def add(self, correct: bool) -> None:
        self.answered += 1
        self.correct += int(correct)

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0



@dataclass
class Record:
    total: Tally = field(default_factory=Tally)
    by_level: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_topic: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_day: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # UTC date -> answers

    def weakest(self, count: int = WEAKEST_SHOWN) -> list[tuple[str, Tally]]:
        candidates = [(t, tally) for t, tally in self.by_topic.items() if tally.answered >= MIN_ANSWERS_FOR_WEAKNESS]
        candidates.sort(key=lambda item: (item[1].accuracy, -item[1].answered, item[0]))
        return [c for c in candidates if c[1].accuracy < 1.0][:count]


def member_record(store: Store, bank: Bank, member: Member, place: Place) -> Record:
    record = Record()
    for row in store.member_answers(place.platform, place.workspace, member.user_id):
        question = bank.get(row["question_id"])
        correct = bool(row["correct"])
        record.total.add(correct)
        record.by_day[row["answered_at"][:10]] += 1
        if question is not None:
            record.by_level[question.level].add(correct)
            record.by_topic[question.topic].add(correct)
    return record


def team_record(store: Store, bank: Bank, place: Place) -> Record:
    record = Record()
    for row in store.team_answers(place.platform, place.workspace):
        question = bank.get(row["question_id"])
        if question is not None:
            record.total.add(bool(row["correct"]))
            record.by_topic[question.topic].add(bool(row["correct"]))
    return record
