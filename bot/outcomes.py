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
    note: str = ""  # the judge's line of feedback, or that the built-in grader stood in for it


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


# ---- the web dashboard's private links (/quiz dashboard [revoke], bot/dashboard_links.py) ----------------------


@dataclass(frozen=True)
class DashboardRevokeRefused:
    """`/quiz dashboard revoke` from a member who is not an admin."""


@dataclass(frozen=True)
class DashboardOff:
    """No HTTP server serves the pages here (no STUDYBOT_HTTP_PORT, and Slack not in HTTP mode)."""


@dataclass(frozen=True)
class DashboardLink:
    """A private link, to the team's pages (admin) or the member's own page."""

    url: str
    expires: datetime
    admin: bool
    revoked: bool = False  # the admin revoked every earlier link first


# ---- team features (issue 16): forgetting a member, reports, seasons, reminders, suggestions ------------------


@dataclass(frozen=True)
class ForgetAsk:
    """/quiz forget-me, before it is confirmed: what would be deleted."""

    counts: tuple[tuple[str, int], ...]  # (kind of data, rows), only kinds with rows


@dataclass(frozen=True)
class Forgotten:
    counts: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class NothingToForget:
    pass


@dataclass(frozen=True)
class NothingToFlag:
    """/quiz flag before the member saw any question."""


@dataclass(frozen=True)
class Flagged:
    question: Question
    reports: int  # members who reported it since its last review
    paused: bool  # this report paused it


@dataclass(frozen=True)
class FlagRepeated:
    question: Question


@dataclass(frozen=True)
class QuestionReported:
    """What admins are told (a notice at their next command): a member reported a question."""

    question_id: str
    question: str
    reason: str | None
    reports: int
    paused: bool


@dataclass(frozen=True)
class FlagSummary:
    question_id: str
    question: str  # its text, or "" when it is gone from the bank
    reports: int
    paused: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class FlagsListed:
    flags: tuple[FlagSummary, ...]


@dataclass(frozen=True)
class FlagsCleared:
    question_id: str
    reports: int


@dataclass(frozen=True)
class FlagsUsage:
    query: str = ""


@dataclass(frozen=True)
class SeasonBoardShown:
    standings: tuple[Standing, ...]
    season: str  # its label, e.g. "November 2026" or "Q4 2026"
    own: Standing | None = None


@dataclass(frozen=True)
class SeasonsOff:
    pass


@dataclass(frozen=True)
class SeasonEnded:
    """Posted in the channel at a season's end: its winners, and that a new season starts."""

    season: str
    standings: tuple[Standing, ...]
    next_season: str


@dataclass(frozen=True)
class RoundReminder:
    """In the round's thread before the reveal: time left and how many answered so far."""

    seconds_left: int
    answers: int


@dataclass(frozen=True)
class SuggestForm:
    """The /quiz suggest form (also to edit a suggestion): values typed so far and the problems found in them.

    `values` and `errors` map the form's fields (bot/suggestions.py FIELDS) to text; an error under "" is about
    the whole question. `draft` is the stored draft the values are kept in; `editing` a suggestion an admin edits.
    """

    levels: tuple[str, ...]
    values: tuple[tuple[str, str], ...] = ()
    errors: tuple[tuple[str, str], ...] = ()
    draft: int | None = None
    editing: int | None = None

    def value(self, field: str) -> str:
        return dict(self.values).get(field, "")


@dataclass(frozen=True)
class SuggestionSaved:
    suggestion_id: int
    edited: bool = False


@dataclass(frozen=True)
class SuggestionItem:
    suggestion_id: int
    author: str
    question: str
    level: str
    choices: tuple[str, ...]
    correct: int


@dataclass(frozen=True)
class SuggestionsListed:
    pending: tuple[SuggestionItem, ...]
    paused: tuple[FlagSummary, ...]


@dataclass(frozen=True)
class SuggestionDecided:
    """The confirmation to the admin who approved or rejected a suggestion."""

    suggestion_id: int
    approved: bool
    question_id: str | None = None


@dataclass(frozen=True)
class SuggestionVerdict:
    """To the author, privately: their suggestion was approved, or rejected with a reason."""

    question: str
    approved: bool
    reason: str | None = None


@dataclass(frozen=True)
class SuggestionWaiting:
    """What admins are told (a notice at their next command): a new suggestion waits for review."""

    suggestion_id: int


@dataclass(frozen=True)
class SuggestionsUsage:
    problem: str = ""  # what was wrong with the command, if anything


Outcome = (
    OpenNeedsWords | PickOutOfRange | PickLocked | AlreadyPicked | EmptyAnswer | AnswerTooLong | AlreadyWrote
    | WrittenSaved | NotYourQuestion | AlreadyAnswered | RoundIsClosed | QuestionAsked | PersonalResult
    | RoundPostedHere | Revealed | WrittenGraded | RoundClosedPost | DirectMessageRefused | CommandProblem | AdminOnly
    | AdminNotice | Help | SettingsShown | SetupProblem | LeaderboardShown | MemberStatsShown | TeamStatsShown
    | ReviewUsage | ReminderSet | NothingDue | ReviewsDue | ReviewReminder
    | ForgetAsk | Forgotten | NothingToForget | NothingToFlag | Flagged | FlagRepeated | QuestionReported
    | FlagsListed | FlagsCleared | FlagsUsage | SeasonBoardShown | SeasonsOff | SeasonEnded | RoundReminder
    | SuggestForm | SuggestionSaved | SuggestionsListed | SuggestionDecided | SuggestionVerdict | SuggestionsUsage
    | SuggestionWaiting
    | TopicUsage | TopicUnknown | NoQuestionLeft | QuestionMarked | BrokenListed | UnknownQuestion | BrokenUsage
    | MockQuestion | MockAnswered | MockAlreadyOpen | NoMockOpen | MockNoQuestions | MockReport
    | ExportReady | ExportEmpty | ExportFailed | FileSentDirectly | FileScopeMissing
    | DashboardRevokeRefused | DashboardOff | DashboardLink
)

