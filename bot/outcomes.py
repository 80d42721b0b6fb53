"""What the engine decided, as typed values; bot/texts.py turns each into words, the same for every platform.

The engine never writes a sentence: it returns an `Outgoing` carrying one of these, and `texts.render`
gives its title and text. Keeping the wording in one module makes it reviewable in one place, and
translatable later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.grading import Grade
from bot.models import Answer, ChannelSettings, Question, RoundKind, Standing
from bot.stats import Record


# ---- answers to a round -----------------------------------------------------------------


@dataclass(frozen=True)
class OpenNeedsWords:
    """A number sent to an open-ended question."""


@dataclass(frozen=True)
class PickOutOfRange:
    count: int


@dataclass(frozen=True)
class PickLocked:
    choice: int


@dataclass(frozen=True)
class AlreadyPicked:
    previous: int | None


@dataclass(frozen=True)
class EmptyAnswer:
    pass


@dataclass(frozen=True)
class AnswerTooLong:
    length: int
    limit: int


@dataclass(frozen=True)
class AlreadyWrote:
    pass


@dataclass(frozen=True)
class WrittenSaved:
    pass


@dataclass(frozen=True)
class NotYourQuestion:
    pass


@dataclass(frozen=True)
class AlreadyAnswered:
    pass


@dataclass(frozen=True)
class RoundIsClosed:
    pass


# ---- rounds -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionAsked:
    """A question put to a channel (kind daily/post) or to one member (personal/review)."""

    question: Question
    kind: RoundKind


@dataclass(frozen=True)
class PersonalResult:
    """The feedback on a member's own question, at once."""

    question: Question
    choice: int | None
    grade: Grade | None


@dataclass(frozen=True)
class RoundPostedHere:
    """The confirmation to the admin who ran /quiz post."""


@dataclass(frozen=True)
class Revealed:
    question: Question
    answers: tuple[Answer, ...]
    right: tuple[str, ...]  # names of the members who got it right


@dataclass(frozen=True)
class WrittenGraded:
    """A member's written answer, graded at the reveal; `note` says which grader graded it, if not the usual."""

    question: Question
    grade: Grade
    note: str = ""


@dataclass(frozen=True)
class RoundClosedPost:
    """The round's post, edited once revealed."""

    question: Question
    kind: RoundKind


# ---- commands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DirectMessageRefused:
    pass


@dataclass(frozen=True)
class CommandProblem:
    """A command that could not be parsed; the parser's message says what is wrong."""

    message: str


@dataclass(frozen=True)
class AdminOnly:
    command: str


@dataclass(frozen=True)
class AdminNotice:
    text: str  # a problem reported by an adapter (e.g. a missing permission), worded for admins


@dataclass(frozen=True)
class Help:
    levels: tuple[str, ...]
    platform: str


@dataclass(frozen=True)
class SettingsShown:
    settings: ChannelSettings
    saved: bool = False


@dataclass(frozen=True)
class SetupProblem:
    message: str


@dataclass(frozen=True)
class LeaderboardShown:
    standings: tuple[Standing, ...]
    scope: str  # "week", "all" or "last week" (the weekly post)
    own: Standing | None = None
    week: str | None = None


@dataclass(frozen=True)
class MemberStatsShown:
    name: str
    record: Record
    totals: dict[str, int]  # points, streak, best_streak on the leaderboard
    levels: tuple[str, ...]


@dataclass(frozen=True)
class TeamStatsShown:
    record: Record


# ---- reviews -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewUsage:
    pass


@dataclass(frozen=True)
class ReminderSet:
    on: bool


@dataclass(frozen=True)
class NothingDue:
    next_due: datetime | None


@dataclass(frozen=True)
class ReviewsDue:
    count: int


@dataclass(frozen=True)
class ReviewReminder:
    count: int


# ---- topics, questions marked broken -------------------------------------------------------------


@dataclass(frozen=True)
class TopicUsage:
    examples: tuple[str, ...]


@dataclass(frozen=True)
class TopicUnknown:
    query: str
    suggestions: tuple[str, ...]  # the closest topic names


@dataclass(frozen=True)
class NoQuestionLeft:
    """Every question that fits is marked broken (or the bank has none)."""

    what: str  # "that topic", "that level", ...


@dataclass(frozen=True)
class QuestionMarked:
    question_id: str
    broken: bool
    reason: str | None = None


@dataclass(frozen=True)
class BrokenListed:
    marked: tuple[tuple[str, str | None], ...]  # (question id, reason)


@dataclass(frozen=True)
class UnknownQuestion:
    query: str
    suggestions: tuple[str, ...]


@dataclass(frozen=True)
class BrokenUsage:
    pass


# ---- mock interviews (bot/mocks.py) --------------------------------------------------------------


@dataclass(frozen=True)
class MockQuestion:
    """One question of a mock interview, with its time limit."""

    question: Question
    position: int  # 0-based
    total: int
    limit: int  # seconds to answer
    deadline: datetime
    first: bool = False  # the first question carries the rules
    again: bool = False  # shown again: a second /quiz mock while this one is open


@dataclass(frozen=True)
class MockAnswered:
    """The short word after each answer; the details wait for the report."""

    question: Question
    correct: bool
    late: bool
    seconds: int  # from the question to the answer
    limit: int


@dataclass(frozen=True)
class MockAlreadyOpen:
    position: int  # 0-based, the question the member is at
    total: int
    started_at: datetime


@dataclass(frozen=True)
class NoMockOpen:
    pass


@dataclass(frozen=True)
class MockNoQuestions:
    level: str | None


@dataclass(frozen=True)
class MockItemResult:
    question: Question
    answered: bool
    correct: bool
    late: bool
    seconds: int | None  # from the question to the answer; None when not answered
    choice: int | None
    found: tuple[bool, ...] | None  # key points found in a written answer

    @property
    def scored(self) -> bool:
        return self.answered and self.correct and not self.late


@dataclass(frozen=True)
class MockReport:
    items: tuple[MockItemResult, ...]
    total: int  # questions the mock was to ask
    seconds: int  # time taken
    stopped: bool  # ended early by /quiz mock stop
    study_next: tuple[str, ...]  # the weakest topics, 2 or 3 when there are any

    @property
    def score(self) -> int:
        return sum(1 for item in self.items if item.scored)


# ---- Anki decks (/quiz export) -------------------------------------------------------------------


@dataclass(frozen=True)
class ExportReady:
    count: int  # notes in the deck
    file_name: str


@dataclass(frozen=True)
class ExportEmpty:
    pass


@dataclass(frozen=True)
class ExportFailed:
    reason: str


@dataclass(frozen=True)
class FileSentDirectly:
    """Where a file cannot ride along an ephemeral message (Slack): it went to the member's direct messages."""

    file_name: str


@dataclass(frozen=True)
class FileScopeMissing:
    """Slack refused the upload: the app lacks files:write (docs/slack.md)."""

    scope: str = "files:write"


Outcome = (
    OpenNeedsWords | PickOutOfRange | PickLocked | AlreadyPicked | EmptyAnswer | AnswerTooLong | AlreadyWrote
    | WrittenSaved | NotYourQuestion | AlreadyAnswered | RoundIsClosed | QuestionAsked | PersonalResult
    | RoundPostedHere | Revealed | WrittenGraded | RoundClosedPost | DirectMessageRefused | CommandProblem | AdminOnly
    | AdminNotice | Help | SettingsShown | SetupProblem | LeaderboardShown | MemberStatsShown | TeamStatsShown
    | ReviewUsage | ReminderSet | NothingDue | ReviewsDue | ReviewReminder
    | TopicUsage | TopicUnknown | NoQuestionLeft | QuestionMarked | BrokenListed | UnknownQuestion | BrokenUsage
    | MockQuestion | MockAnswered | MockAlreadyOpen | NoMockOpen | MockNoQuestions | MockReport
    | ExportReady | ExportEmpty | ExportFailed | FileSentDirectly | FileScopeMissing
)

