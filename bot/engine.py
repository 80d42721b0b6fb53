"""The engine's front door: commands and answers come in, messages go out.

It never talks to a chat platform. It routes each inbound event to the part that decides:
`Rounds` (posting, answers, reveals), `Boards` (leaderboards and stats), `Study` (reviews), `Mocks` (mock
interviews), `MemberDecks` (/quiz export) and `QuestionStatus` (/quiz broken), and owns the per-workspace
settings (/quiz setup). Each part is built by the composition root
(bot/runtime.py, build_engine) and handed in, so nothing wires itself into another object.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from bot import outcomes as o
from bot.boards import Boards
from bot.channel_setup import Workspaces, apply_setup
from bot.clock import Clock
from bot.commands import ADMIN_ONLY, Command, CommandError, parse
from bot.config import Settings
from bot.dashboard_links import DashboardLinks
from bot.decks import MemberDecks
from bot.events import ChoiceMade, CommandInvoked, Inbound, Kind, Outgoing, SuggestionSubmitted, WrittenAnswer
from bot.metrics import Metrics
from bot.mocks import Mocks
from bot.models import Bank, ChannelSettings, Member, Place, RoundKind
from bot.question_status import QuestionStatus
from bot.rounds import EngineEvents, Rounds, SettingsChanged
from bot.store import Store
from bot.study import Study
from bot.team import TEAM_COMMANDS, Team, member_files
from bot.topics import closest, match

log = logging.getLogger(__name__)


class Private(Protocol):
    """A reply to the member who gave the command, seen by them only."""

    def __call__(self, outcome: o.Outcome, kind: Kind = ..., **extra: Any) -> Outgoing: ...


class QuizEngine:
    def __init__(self, store: Store, bank: Bank, settings: Settings, clock: Clock, events: EngineEvents,
                 workspaces: Workspaces, rounds: Rounds, boards: Boards, study: Study, *,
                 dashboards: DashboardLinks | None = None, mocks: Mocks | None = None,
                 decks: MemberDecks | None = None, statuses: QuestionStatus | None = None) -> None:
        self.store = store
        self.workspaces = workspaces
        self.bank = bank
        self.settings = settings
        self.clock = clock
        self.events = events
        self.rounds = rounds
        self.boards = boards
        self.study = study
        # /quiz flag, forget-me, suggest and suggestions, seasons and reminders (bot/team.py)
        self.team = Team(store, bank, workspaces.settings_for, clock,
                         member_files(boards.charts_dir, settings.db_path.resolve().parent))
        rounds.paused = self.team.paused  # members' reports pause a question in their workspace
        self.dashboards = dashboards or DashboardLinks(store, settings, clock)  # /quiz dashboard's private links
        self.mocks = mocks or Mocks(store, bank, workspaces.settings_for, clock)  # /quiz mock
        if rounds.mocks is None:  # a mock question's answer must lead to the next question
            rounds.mocks = self.mocks
        self.decks = decks or MemberDecks(store, bank, settings.db_path.resolve().parent)  # /quiz export
        self.statuses = statuses or QuestionStatus(store, bank, clock)  # /quiz broken
        self.topics = sorted({q.topic for q in bank.questions}, key=str.casefold)

    @property
    def metrics(self) -> Metrics:  # the rounds' metrics: one set per runtime
        return self.rounds.metrics

    def settings_for(self, platform: str, workspace: str) -> ChannelSettings:
        return self.workspaces.settings_for(platform, workspace)

    def handle(self, event: Inbound) -> list[Outgoing]:
        if isinstance(event, CommandInvoked):
            return self._command(event)
        if isinstance(event, ChoiceMade):
            return self.rounds.choice(event)
        if isinstance(event, SuggestionSubmitted):
            return self.team.suggestions.submit(event)
        if isinstance(event, WrittenAnswer):
            return self.rounds.written(event)
        raise TypeError(f"not an inbound event: {event!r}")

    async def handle_async(self, event: Inbound) -> list[Outgoing]:
        """handle(), with a written answer to a member's own question graded first by the model judge when one is
        set (it answers in seconds, so the loop awaits it); everything else is handle() itself."""
        if isinstance(event, WrittenAnswer):
            return await self.rounds.written_async(event)
        return self.handle(event)

    def _command(self, ev: CommandInvoked) -> list[Outgoing]:
        def private(outcome: o.Outcome, kind: Kind = Kind.NOTICE, **extra: Any) -> Outgoing:
            return Outgoing(kind, ev.place, outcome=outcome, to=ev.member, **extra)

        if ev.in_dm:
            return [private(o.DirectMessageRefused())]
        try:
            command = parse(ev.text, self.bank.levels)
        except CommandError as error:
            return [private(o.CommandProblem(str(error)))]
        admin = ev.is_admin or ev.member.user_id in self.settings.admins
        if command.name in ADMIN_ONLY and not admin:
            return [private(o.AdminOnly(command.name))]
        answers = self._run(command, ev, admin, private)
        out = []
        # A form opens alone (on Discord a modal is an interaction's only answer): the notices wait for the next one.
        if admin and not any(m.kind is Kind.FORM for m in answers):
            notices = self.store.take_notices(ev.place.platform, ev.place.workspace, self.clock())
            out += [private(o.AdminNotice(n)) for n in notices]
        return out + answers

    def _run(self, command: Command, ev: CommandInvoked, admin: bool, private: Private) -> list[Outgoing]:
        if command.name == "quiz":
            return self.rounds.personal_round(ev.member, ev.place, command.level)
        if command.name == "post":
            return self.rounds.post_round(ev.place, command.level, requested_by=ev.member)
        if command.name == "leaderboard" and command.args == ("season",):
            return [private(self.team.season_board(ev.place, ev.member.user_id), Kind.BOARD)]
        if command.name == "leaderboard":
            return [private(self.boards.leaderboard(ev.place, command.args[0], ev.member.user_id), Kind.BOARD)]
        if command.name == "stats":
            if command.args == ("team",):
                if not admin:
                    return [private(o.AdminOnly("stats team"))]
                return [private(o.TeamStatsShown(self.boards.team_stats(ev.place)), Kind.STATS)]
            return self.boards.member_stats(ev.member, ev.place)
        if command.name == "review":
            return self.review(ev.member, ev.place, command.args)
        if command.name == "setup":
            return self.setup(ev.place, command.args, private)
        if command.name == "dashboard":
            return self.dashboards.command(ev.member, ev.place, admin, command.args)
        if command.name == "mock":
            if command.args == ("stop",):
                return self.mocks.stop(ev.member, ev.place)
            return self.mocks.start(ev.member, ev.place, command.level)
        if command.name == "topic":
            return self.topic(ev.member, ev.place, command.args[0] if command.args else "", private)
        if command.name == "export":
            return self.decks.export(ev.member, ev.place)
        if command.name == "broken":
            return [private(self.statuses.command(ev.member, command.args))]
        if command.name in TEAM_COMMANDS:
            return self.team.command(command.name, command.args, ev.member, ev.place, admin)
        return [private(o.Help(self.bank.levels, ev.place.platform))]

    def setup(self, place: Place, args: tuple[str, ...], private: Private) -> list[Outgoing]:
        current = self.settings_for(place.platform, place.workspace)
        if not args:
            return [private(o.SettingsShown(current))]
        try:
            updated = apply_setup(current, args, place.channel)
        except CommandError as error:
            return [private(o.SetupProblem(str(error)))]
        self.store.save_workspace(updated, "setup", self.clock())
        self.events.emit(SettingsChanged(updated))
        return [private(o.SettingsShown(updated, saved=True))]

    def topic(self, member: Member, place: Place, query: str, private: Private) -> list[Outgoing]:
        """/quiz topic <topic>: a personal question on the topic the words name (typos forgiven)."""
        if not query.strip():
            return [private(o.TopicUsage(tuple(self.topics[:3])))]
        found = match(query, self.topics)
        if found.name is None:
            return [private(o.TopicUnknown(query, found.suggestions))]
        pool = [q for q in self.bank.questions if q.topic == found.name]
        return self.rounds.personal_round(member, place, None, pool=pool, what=f"the topic {found.name}")

    def autocomplete(self, what: str, typed: str) -> list[str]:
        """What Discord's autocomplete offers while a member types: topic names, or question ids (admins)."""
        if what == "topic":
            return closest(typed, self.topics)
        if what == "question":
            return closest(typed, [q.id for q in self.bank.questions])
        return []

    def recall(self, key: str) -> str | None:
        """A small persistent value for adapters (e.g. the hash of the synced command tree)."""
        return self.store.meta(key)

    def remember(self, key: str, value: str) -> None:
        self.store.set_meta(key, value)

    def report_problem(self, platform: str, workspace: str, text: str) -> None:
        """Something admins must hear about (e.g. a missing permission), shown at their next command."""
        self.store.add_notice(platform, workspace, text, self.clock())

    def review(self, member: Member, place: Place, args: tuple[str, ...]) -> list[Outgoing]:
        def say(outcome: o.Outcome) -> Outgoing:
            return Outgoing(Kind.NOTICE, place, outcome=outcome, to=member)

        if args:
            if len(args) == 2 and args[0].lower() == "remind" and args[1].lower() in ("on", "off"):
                on = args[1].lower() == "on"
                self.study.set_reminder(member, place, on)
                return [say(o.ReminderSet(on))]
            return [say(o.ReviewUsage())]
        due = self.study.due(member, place)
        if not due:
            return [say(o.NothingDue(self.study.next_due(member, place)))]
        question = self.bank.get(due[0])
        assert question is not None  # Study.due lists only questions still in the bank
        out = self.rounds.personal_round(member, place, None, kind=RoundKind.REVIEW, question=question)
        return [say(o.ReviewsDue(len(due))), *out]

