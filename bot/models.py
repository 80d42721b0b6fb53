"""Plain value types shared by the engine and the adapters."""

from __future__ import annotations

from dataclasses import dataclass, field


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

    @property
    def place(self) -> Place | None:
        if not self.channel:
            return None
        return Place(self.platform, self.workspace, self.channel)
