"""Plain value types shared by the engine and the adapters."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from bot.clock import parse_iso


@dataclass(frozen=True)
class Question:
    id: str
    level: str
    topic: str
    covers: tuple[str, ...]
    question: str
    choices: tuple[str, ...]  # empty for an open-ended question, answered in words only
    correct: int  # 1-based number of the right choice; 0 for an open-ended question
    answer: str
    key_points: tuple[str, ...]
    line: int = 0  # where the question starts in its file, for messages

    @property
    def is_open(self) -> bool:
        return not self.choices

    @property
    def correct_text(self) -> str:
        return self.choices[self.correct - 1] if self.choices else ""

    @property
    def wrong_choices(self) -> tuple[str, ...]:
        return tuple(c for i, c in enumerate(self.choices, 1) if i != self.correct)


@dataclass(frozen=True)
class Bank:
    levels: tuple[str, ...]
    questions: tuple[Question, ...]
    by_id: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.by_id:
            self.by_id.update({q.id: q for q in self.questions})

    def get(self, question_id: str) -> Question | None:
        return self.by_id.get(question_id)

    def of_level(self, level: str | None) -> list[Question]:
        return [q for q in self.questions if level is None or q.level == level]


@dataclass(frozen=True)
class Member:
    platform: str
    user_id: str
    name: str


@dataclass(frozen=True)
class Place:
    """A channel on a platform; `thread` is the thread's root message when replying in one."""

    platform: str
    workspace: str
    channel: str
    thread: str | None = None

    def in_thread(self, thread: str | None) -> Place:
        return Place(self.platform, self.workspace, self.channel, thread)


@dataclass(frozen=True)
class ChannelSettings:
    """Where and when a workspace's daily question runs."""

    platform: str
    workspace: str
    channel: str | None
    daily_at: str | None  # "HH:MM", None disables the daily round
    days: str  # cron day-of-week form, e.g. "mon-fri"
    timezone: str
    reveal_after: int  # seconds from posting to reveal
    weekly_at: str | None  # "mon 09:00", None disables the weekly post
    hidden_votes: bool = False
    open_questions: bool = False  # channel rounds may draw open-ended questions
    season: str | None = None  # "monthly" or "quarterly": a season leaderboard; None: off
    remind_before: int | None = None  # seconds before a channel round's reveal to post a reminder; None: off
    ping: str | None = None  # a Discord role id or Slack user group id mentioned on the daily post; None: off
    mock_mc: int = 60  # a mock interview's time limit (seconds) for a multiple-choice question
    mock_open: int = 300  # ... and for an open-ended one

    @property
    def place(self) -> Place | None:
        if not self.channel:
            return None
        return Place(self.platform, self.workspace, self.channel)


class RoundKind(str, Enum):
    """What a round is: a channel round (the daily one, or /quiz post) or a member's own question."""

    DAILY = "daily"
    POST = "post"
    PERSONAL = "personal"
    REVIEW = "review"
    MOCK = "mock"  # one question of a member's mock interview (bot/mocks.py)

    @property
    def is_channel(self) -> bool:
        return self in (RoundKind.DAILY, RoundKind.POST)


@dataclass(frozen=True)
class Round:
    id: int
    place: Place
    kind: RoundKind
    question_id: str
    level: str
    owner: str | None
    daily_date: str | None
    timezone: str
    hidden_votes: bool
    posted_at: datetime
    deadline: datetime | None
    revealed_at: datetime | None
    message_id: str | None
    thread_id: str | None

    @property
    def is_channel(self) -> bool:
        return self.kind.is_channel

    @property
    def is_open(self) -> bool:
        return self.revealed_at is None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Round:
        def when(key: str) -> datetime | None:
            return parse_iso(row[key]) if row[key] else None

        return cls(
            id=row["id"],
            place=Place(row["platform"], row["workspace"], row["channel"]),
            kind=RoundKind(row["kind"]),
            question_id=row["question_id"],
            level=row["level"],
            owner=row["owner"],
            daily_date=row["daily_date"],
            timezone=row["timezone"],
            hidden_votes=bool(row["hidden_votes"]),
            posted_at=parse_iso(row["posted_at"]),
            deadline=when("deadline"),
            revealed_at=when("revealed_at"),
            message_id=row["message_id"],
            thread_id=row["thread_id"],
        )


@dataclass(frozen=True)
class Answer:
    id: int
    round_id: int
    user_id: str
    name: str
    choice: int | None
    text: str | None
    correct: bool | None
    score: float | None
    points: int
    found: list[bool] | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Answer:
        return cls(
            id=row["id"],
            round_id=row["round_id"],
            user_id=row["user_id"],
            name=row["name"],
            choice=row["choice"],
            text=row["text"],
            correct=None if row["correct"] is None else bool(row["correct"]),
            score=row["score"],
            points=row["points"],
            found=json.loads(row["found"]) if row["found"] else None,
        )


@dataclass(frozen=True)
class Standing:
    rank: int
    user_id: str
    name: str
    points: int
    correct: int
    answered: int
    streak: int
