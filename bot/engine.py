"""The quiz engine: takes inbound events, decides, remembers, and returns outbound messages.

It never talks to a chat platform. Every rule that the console, Discord and Slack
share lives here, so each adapter only translates.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from bot import texts
from bot.channel_setup import apply_setup
from bot.clock import Clock, local_date, previous_week, system_clock, week_of
from bot.commands import ADMIN_ONLY, Command, CommandError, parse
from bot.config import Settings
from bot.events import ChoiceMade, CommandInvoked, Inbound, Kind, Outgoing, WrittenAnswer
from bot.grading import Grade, grade_question, points_for
from bot.metrics import Metrics
from bot.models import Bank, ChannelSettings, Member, Place, Question
from bot.selection import RECENT_DAYS, pick_for_channel, pick_for_member
from bot.store import Answer, Round, Store

log = logging.getLogger(__name__)

CHOICE_POINTS = 10
MAX_WRITTEN = 100_000
BOARD_SIZE = 10


@dataclass(frozen=True)
class RoundOpened:
    round_id: int
    deadline: datetime


@dataclass(frozen=True)
class SettingsChanged:
    settings: ChannelSettings


EngineEvent = RoundOpened | SettingsChanged


class AsyncGrader(Protocol):
    """Grades written answers without blocking the event loop (bot.judge.Judge); one grade per item, in order."""

    async def grade_many(self, items: Sequence[tuple[str, Question]]) -> list[Grade]: ...


class QuizEngine:
    def __init__(
        self, store: Store, bank: Bank, settings: Settings,
        clock: Clock = system_clock, rng: random.Random | None = None, metrics: Metrics | None = None,
        grader: AsyncGrader | None = None,
    ) -> None:
        self.store = store
        self.bank = bank
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self.metrics = metrics or Metrics()
        self.listeners: list[Callable[[EngineEvent], None]] = []
        self.study = None  # set by bot.study when spaced repetition is wired in
        self.grader = grader  # optional (the model judge): grades a channel round's written answers at the reveal
        self._pregrading: set[int] = set()
        self.charts_dir = settings.db_path.resolve().parent / "charts"

    def _emit(self, event: EngineEvent) -> None:
        for listener in self.listeners:
            listener(event)

    # ---- workspace settings ------------------------------------------------------

    def default_settings(self, platform: str, workspace: str, channel: str | None = None) -> ChannelSettings:
        s = self.settings
        return ChannelSettings(
            platform=platform, workspace=workspace, channel=channel, daily_at=s.daily_at, days=s.daily_days,
            timezone=s.timezone, reveal_after=s.reveal_after, weekly_at=s.weekly_at,
        )

    def settings_for(self, platform: str, workspace: str) -> ChannelSettings:
        return self.store.workspace(platform, workspace) or self.default_settings(platform, workspace)

    def register_channel(self, platform: str, workspace: str, channel: str) -> ChannelSettings:
        """A channel named in the environment: used until /quiz setup is run in that workspace."""
        if self.store.workspace_source(platform, workspace) == "setup":
            return self.settings_for(platform, workspace)
        settings = self.default_settings(platform, workspace, channel)
        self.store.save_workspace(settings, "env", self.clock())
        return settings

    # ---- inbound -----------------------------------------------------------------

    def handle(self, event: Inbound) -> list[Outgoing]:
        if isinstance(event, CommandInvoked):
            return self._command(event)
        if isinstance(event, ChoiceMade):
            return self._choice(event)
        if isinstance(event, WrittenAnswer):
            return self._written(event)
        raise TypeError(f"not an inbound event: {event!r}")

    def _command(self, ev: CommandInvoked) -> list[Outgoing]:
        def private(text: str, kind: Kind = Kind.NOTICE, **extra) -> Outgoing:
            return Outgoing(kind, ev.place, text, to=ev.member, **extra)

        if ev.in_dm:
            return [private("studybot works in server channels, not in direct messages. Try `/quiz` in a channel.")]
        try:
            command = parse(ev.text, self.bank.levels)
        except CommandError as error:
            return [private(str(error))]
        admin = ev.is_admin or ev.member.user_id in self.settings.admins
        if command.name in ADMIN_ONLY and not admin:
            return [private(f"`/quiz {command.name}` is for admins (server managers, or ids in STUDYBOT_ADMINS).")]
        out = []
        if admin:
            notices = self.store.take_notices(ev.place.platform, ev.place.workspace, self.clock())
            out += [private("⚠️ " + n) for n in notices]
        return out + self._run(command, ev, admin, private)

    def _run(self, command: Command, ev: CommandInvoked, admin: bool, private) -> list[Outgoing]:
        if command.name == "quiz":
            return self.personal_round(ev.member, ev.place, command.level)
        if command.name == "post":
            return self.post_round(ev.place, command.level, requested_by=ev.member)
        if command.name == "leaderboard":
            scope = command.args[0]
            return [private(self.board(ev.place, scope, ev.member.user_id), Kind.BOARD,
                            title="Leaderboard: " + ("this week" if scope == "week" else "all time"))]
        if command.name == "stats":
            if command.args == ("team",):
                if not admin:
                    return [private("`/quiz stats team` is for admins.")]
                return [private(self.team_stats(ev.place), Kind.STATS, title="Team: weakest topics")]
            return self.member_stats(ev.member, ev.place)
        if command.name == "review":
            return self.review(ev.member, ev.place, command.args)
        if command.name == "setup":
            return self.setup(ev.place, command.args, private)
        return [private(texts.help_text(self.bank.levels, ev.place.platform), title="studybot help")]

    def _round_for(self, platform: str, round_id: int | None, message_id: str | None) -> Round | None:
        if round_id is not None:
            rnd = self.store.round(round_id)
            return rnd if rnd and rnd.place.platform == platform else None
        if message_id:
            return self.store.round_by_message(platform, message_id)
        return None

    def _choice(self, ev: ChoiceMade) -> list[Outgoing]:
        rnd = self._round_for(ev.member.platform, ev.round_id, ev.message_id)
        question = self.bank.get(rnd.question_id) if rnd else None
        if rnd is None or question is None:
            return []  # a reaction on some other message
        if not 1 <= ev.choice <= len(question.choices):
            if ev.round_id is None:
                return []  # a reaction that is not one of the choices
            if question.is_open:
                return [self._note(rnd, ev.member, "This question is open-ended: answer it in your own words.")]
            return [self._note(rnd, ev.member, f"Pick a number from 1 to {len(question.choices)}.")]
        refusal = self._refusal(rnd, ev.member)
        if refusal:
            return [refusal]
        now = self.clock()
        if not self.store.record_choice(rnd, ev.member, ev.choice, now):
            previous = self.store.answer(rnd.id, ev.member.user_id)
            picked = previous.choice if previous else "?"
            return [self._note(rnd, ev.member, f"Your first answer ({picked}) is locked in; later picks change nothing.")]
        self.metrics.answers_recorded += 1
        if not rnd.is_channel:
            return self._finish_personal(rnd, question, ev.member)
        return [self._note(rnd, ev.member, f"Your answer {ev.choice} is locked in. The answer is revealed at the deadline.")]

    def _written(self, ev: WrittenAnswer) -> list[Outgoing]:
        rnd = self._round_for(ev.member.platform, ev.round_id, ev.message_id)
        question = self.bank.get(rnd.question_id) if rnd else None
        if rnd is None or question is None:
            return []  # a message in some other thread
        refusal = self._refusal(rnd, ev.member)
        if refusal:
            return [refusal]
        text = ev.text.strip()
        if not text:
            return [self._note(rnd, ev.member, "An empty answer cannot be graded: write a sentence or two.")]
        if len(text) > MAX_WRITTEN:
            return [self._note(rnd, ev.member, f"That answer is {len(text):,} characters; keep it under {MAX_WRITTEN:,}.")]
        if not self.store.record_written(rnd, ev.member, text, self.clock()):
            return [self._note(rnd, ev.member, "You already sent a written answer to this round; the first one counts.")]
        self.metrics.answers_recorded += 1
        if not rnd.is_channel:
            return self._finish_personal(rnd, question, ev.member)
        return [self._note(rnd, ev.member, "Saved your written answer; it is graded against the key points at the reveal.")]

    def current_round(self, member: Member, place: Place) -> int | None:
        """The round a bare answer is for, where a platform has no threads or buttons (the console)."""
        rnd = self.store.open_personal_round(place, member.user_id) or self.store.latest_open_channel_round(place)
        return rnd.id if rnd else None

    def _refusal(self, rnd: Round, member: Member) -> Outgoing | None:
        if not rnd.is_channel and rnd.owner != member.user_id:
            return self._note(rnd, member, "That question was someone else's. Ask for your own with `/quiz`.")
        late = rnd.deadline is not None and self.clock() >= rnd.deadline
        if not rnd.is_open or late:
            if not rnd.is_channel:
                return self._note(rnd, member, "You already answered that question. `/quiz` gives you a new one.")
            return self._note(rnd, member, "This round is closed: answers after the reveal do not count.")
        return None

    def _note(self, rnd: Round, member: Member, text: str) -> Outgoing:
        return Outgoing(Kind.FEEDBACK, rnd.place.in_thread(rnd.thread_id or rnd.message_id), text,
                        to=member, round_id=rnd.id)

    # ---- personal rounds -------------------------------------------------------------

    def personal_round(self, member: Member, place: Place, level: str | None, kind: str = "personal",
                       question: Question | None = None) -> list[Outgoing]:
        now = self.clock()
        if question is None:
            since = now - timedelta(days=RECENT_DAYS)
            recent = self.store.member_seen(place.platform, place.workspace, member.user_id, since)
            question = pick_for_member(self.bank.of_level(level), recent, self.rng)
        round_id = self.store.create_round(place, kind, question.id, question.level, now, owner=member.user_id)
        title = f"{'Review' if kind == 'review' else 'Your question'} · {question.level} · {question.topic}"
        text = texts.round_body(question)
        if not question.is_open:
            text += "\n\n_Pick a number, or answer in your own words._"
        return [Outgoing(Kind.PERSONAL, place, text, title=title, choices=question.choices,
                         round_id=round_id, to=member)]

    def _finish_personal(self, rnd: Round, question: Question, member: Member) -> list[Outgoing]:
        now = self.clock()
        with self.store.transaction():
            if not self.store.close_round(rnd.id, now):
                return []
            answer = self.store.answer(rnd.id, member.user_id)
            assert answer is not None
            result = judge(answer, question)
            self.store.set_result(answer.id, result.correct, result.score, 0, result.found)
        if self.study:
            self.study.after_answer(rnd, answer.user_id, result.correct, result.score, now)
        parts = []
        if answer.choice is not None:
            parts.append(texts.choice_feedback(question, answer.choice))
        if result.grade:
            parts.append(texts.grade_feedback(question, result.grade))
        parts.append("**Model answer**\n" + texts.reflow(question.answer))
        return [Outgoing(Kind.FEEDBACK, rnd.place, "\n\n".join(parts), title=f"{question.level} · {question.topic}",
                         round_id=rnd.id, to=member)]

    # ---- channel rounds -----------------------------------------------------------------

    def post_round(self, place: Place, level: str | None, requested_by: Member | None = None) -> list[Outgoing]:
        settings = self.settings_for(place.platform, place.workspace)
        out = self._open_channel_round(Place(place.platform, place.workspace, place.channel), "post", level, settings)
        if requested_by is not None:
            round_id = out[0].round_id if out else None
            out.append(Outgoing(Kind.NOTICE, place, "Posted a new round in this channel.", to=requested_by,
                                round_id=round_id))
        return out

    def daily_round(self, platform: str, workspace: str, day: str | None = None) -> list[Outgoing]:
        """The daily round for `day` (default: today, locally) in the workspace's channel, unless it exists."""
        settings = self.settings_for(platform, workspace)
        if settings.place is None:
            return []
        day = day or local_date(self.clock(), settings.timezone).isoformat()
        return self._open_channel_round(settings.place, "daily", None, settings, daily_date=day)

    def _open_channel_round(self, place: Place, kind: str, level: str | None, settings: ChannelSettings,
                            daily_date: str | None = None) -> list[Outgoing]:
        now = self.clock()
        pool = self.bank.of_level(level)
        if not settings.open_questions:  # one-click rounds keep participation high: open-ended only by opt-in
            pool = [q for q in pool if not q.is_open] or pool  # a level of open questions alone still posts
        weights = self.study.topic_weights(place) if self.study and kind == "daily" else None
        question = pick_for_channel(pool, self.store.times_asked(place), self.rng, weights)
        deadline = now + timedelta(seconds=settings.reveal_after)
        round_id = self.store.create_round(
            place, kind, question.id, question.level, now, daily_date=daily_date, timezone=settings.timezone,
            deadline=deadline, hidden_votes=settings.hidden_votes,
        )
        if round_id is None:
            log.info("daily round for %s on %s exists already", place.channel, daily_date)
            return []
        self._emit(RoundOpened(round_id, deadline))
        rnd = self.store.round(round_id)
        assert rnd is not None
        return [self.round_post(rnd, question)]

    def round_post(self, rnd: Round, question: Question) -> Outgoing:
        title = ("Question of the day" if rnd.kind == "daily" else "Quiz") + f" · {question.level} · {question.topic}"
        return Outgoing(Kind.ROUND, rnd.place, texts.round_body(question), title=title, choices=question.choices,
                        round_id=rnd.id, deadline=rnd.deadline, hidden_votes=rnd.hidden_votes)

    def round_posted(self, round_id: int, message_id: str, thread_id: str | None = None) -> None:
        self.store.set_round_message(round_id, message_id, thread_id)

    def unposted_rounds(self) -> list[Outgoing]:
        """Posts of open channel rounds that never reached their channel (crash, missing permission)."""
        now = self.clock()
        out = []
        for rnd in self.store.open_channel_rounds():
            question = self.bank.get(rnd.question_id)
            if rnd.message_id is None and question and rnd.deadline and rnd.deadline > now:
                out.append(self.round_post(rnd, question))
        return out

    def open_rounds(self) -> list[Round]:
        return self.store.open_channel_rounds()

    def reveal_due(self) -> list[Outgoing]:
        now = self.clock()
        out = []
        for rnd in self.store.open_channel_rounds():
            if rnd.deadline and rnd.deadline <= now:
                out += self.reveal(rnd.id)
        return out

    async def reveal_due_async(self) -> list[Outgoing]:
        """reveal_due(), with the written answers graded by the optional async grader first."""
        now = self.clock()
        out = []
        for rnd in self.store.open_channel_rounds():
            if rnd.deadline and rnd.deadline <= now:
                out += await self.reveal_async(rnd.id)
        return out

    async def reveal_async(self, round_id: int) -> list[Outgoing]:
        """reveal(), with the written answers graded first by the optional async grader (concurrently, off the loop).

        Without a grader this is reveal(). An answer the grader did not see is graded by the built-in grader.
        """
        rnd = self.store.round(round_id)
        question = self.bank.get(rnd.question_id) if rnd else None
        if self.grader is None or rnd is None or question is None or not rnd.is_open:
            return self.reveal(round_id)
        if round_id in self._pregrading:
            return []  # another reveal of this round is grading it now, and delivers it
        self._pregrading.add(round_id)
        try:
            written = [a for a in self.store.answers(round_id) if a.text]
            grades = await self.grader.grade_many([(a.text, question) for a in written])
            return self.reveal(round_id, {a.id: g for a, g in zip(written, grades)})
        finally:
            self._pregrading.discard(round_id)

    def reveal(self, round_id: int, grades: dict[int, Grade] | None = None) -> list[Outgoing]:
        """Close a channel round once: score it and say what the answer was (`grades`: answer id -> grade made)."""
        now = self.clock()
        with self.store.transaction():
            if not self.store.close_round(round_id, now):
                return []
            rnd = self.store.round(round_id)
            assert rnd is not None
            question = self.bank.get(rnd.question_id)
            answers = self.store.answers(round_id)
            if question is None:
                log.warning("round %s: question %s is no longer in the bank; closed unscored", round_id, rnd.question_id)
                return []
            results = self._score(rnd, question, answers, grades or {})
        self.metrics.reveals += 1
        if rnd.deadline:
            self.metrics.reveal_lag_seconds.observe(max(0.0, (now - rnd.deadline).total_seconds()))
        if self.study:
            for answer, result in results:
                self.study.after_answer(rnd, answer.user_id, result.correct, result.score, now)
        if rnd.message_id is None and not answers:
            return []  # never reached its channel: nothing to reveal to anyone
        judged = self.store.answers(round_id)
        right = [texts.name_of(a.name) for a in judged if a.correct]
        thread = rnd.place.in_thread(rnd.thread_id or rnd.message_id)
        out = [Outgoing(Kind.REVEAL, thread, texts.reveal_text(question, judged, right),
                        title=f"Answer · {question.level} · {question.topic}", round_id=round_id)]
        for answer, result in results:
            if result.grade:
                note = getattr(result.grade, "note", "")  # a JudgeGrade says which grader graded it
                feedback = texts.grade_feedback(question, result.grade) + (f"\n{note}" if note else "")
                out.append(Outgoing(Kind.FEEDBACK, thread, feedback,
                                    round_id=round_id, to=Member(rnd.place.platform, answer.user_id, answer.name)))
        if rnd.message_id:
            closed = texts.round_body(question) + "\n\n" + texts.closed_line(question)
            out.append(Outgoing(Kind.CLOSED, rnd.place, closed, title=self.round_post(rnd, question).title,
                                choices=question.choices, round_id=round_id, edit_of=rnd.message_id))
        return out

    def _score(self, rnd: Round, question: Question, answers: list[Answer],
               grades: dict[int, Grade]) -> list[tuple[Answer, Judgement]]:
        week = week_of(rnd.posted_at, rnd.timezone)
        results = []
        for answer in answers:
            result = judge(answer, question, grades.get(answer.id))
            self.store.set_result(answer.id, result.correct, result.score, result.points, result.found)
            self.store.add_score(rnd.place.platform, rnd.place.workspace, week, answer.user_id, answer.name,
                                 result.points, result.correct)
            results.append((answer, result))
        if rnd.kind == "daily":
            winners = [a.user_id for a, r in results if r.correct]
            self.store.update_streaks(rnd.place.platform, rnd.place.workspace, winners)
        return results

    # ---- boards and stats -------------------------------------------------------------------

    def board(self, place: Place, scope: str, user_id: str | None = None) -> str:
        settings = self.settings_for(place.platform, place.workspace)
        week = week_of(self.clock(), settings.timezone) if scope == "week" else None
        return self._board_text(place, week, user_id, "this week" if week else "yet")

    def _board_text(self, place: Place, week: str | None, user_id: str | None, scope_words: str) -> str:
        standings = self.store.standings(place.platform, place.workspace, week, BOARD_SIZE)
        own = self.store.standing_of(place.platform, place.workspace, week, user_id) if user_id else None
        return texts.board_text(standings, scope_words, own)

    def weekly_board(self, platform: str, workspace: str) -> list[Outgoing]:
        """The board of the week that just ended, posted once to the workspace's channel."""
        settings = self.settings_for(platform, workspace)
        if settings.place is None:
            return []
        week = previous_week(self.clock(), settings.timezone)
        key = f"weekly:{platform}:{workspace}:{week}"
        if self.store.meta(key):
            return []
        self.store.set_meta(key, "posted")
        text = self._board_text(settings.place, week, None, "last week")
        return [Outgoing(Kind.BOARD, settings.place, text, title=f"Leaderboard · week of {week}")]

    def member_stats(self, member: Member, place: Place, chart: bool = True) -> list[Outgoing]:
        from bot.stats import member_record, member_stats_text

        record = member_record(self.store, self.bank, member, place)
        text = member_stats_text(self.store, self.bank, member, place, record)
        title = f"Stats · {texts.name_of(member.name)}"
        draw = self._chart(record, title, member, place) if chart and record.total.answered else None
        return [Outgoing(Kind.STATS, place, text, title=title, to=member, chart=draw)]

    def _chart(self, record, title: str, member: Member, place: Place) -> Callable[[], Path | None]:
        from bot.charts import render_progress

        owner = f"{place.platform}-{place.workspace}-{member.user_id}"
        directory, today = self.charts_dir, self.clock().date()

        def draw() -> Path | None:
            try:
                return render_progress(record, title, directory, owner, today)
            except Exception:  # a chart is a bonus: the text stats still go out
                log.exception("could not draw the stats chart")
                return None

        return draw

    def team_stats(self, place: Place) -> str:
        from bot.stats import team_stats_text

        return team_stats_text(self.store, self.bank, place)

    def review(self, member: Member, place: Place, args: tuple[str, ...]) -> list[Outgoing]:
        if self.study is None:
            return [Outgoing(Kind.NOTICE, place, "Reviews are not available.", to=member)]
        return self.study.review(member, place, args)

    # ---- setup and problems -----------------------------------------------------------------

    def setup(self, place: Place, args: tuple[str, ...], private) -> list[Outgoing]:
        current = self.settings_for(place.platform, place.workspace)
        if not args:
            return [private(texts.settings_text(current) + "\n\n" + texts.SETUP_USAGE, title="Setup")]
        try:
            updated = apply_setup(current, args, place.channel)
        except CommandError as error:
            return [private(f"{error}\n{texts.SETUP_USAGE}")]
        self.store.save_workspace(updated, "setup", self.clock())
        self._emit(SettingsChanged(updated))
        return [private("Saved.\n" + texts.settings_text(updated), title="Setup")]

    def recall(self, key: str) -> str | None:
        """A small persistent value for adapters (e.g. the hash of the synced command tree)."""
        return self.store.meta(key)

    def remember(self, key: str, value: str) -> None:
        self.store.set_meta(key, value)

    def report_problem(self, platform: str, workspace: str, text: str) -> None:
        """Something admins must hear about (e.g. a missing permission), shown at their next command."""
        self.store.add_notice(platform, workspace, text, self.clock())


@dataclass(frozen=True)
class Judgement:
    correct: bool
    points: int
    grade: Grade | None = None  # for a written answer

    @property
    def score(self) -> float | None:
        return self.grade.score if self.grade else None

    @property
    def found(self) -> list[bool] | None:
        return list(self.grade.found) if self.grade else None


def judge(answer: Answer, question: Question, grade: Grade | None = None) -> Judgement:
    """Points for one answer (README, Scoring): 10 for the right pick, up to 10 more for a written answer.

    `grade`: the written answer's grade when it was made already (by the optional async grader).
    """
    correct = answer.choice == question.correct
    points = CHOICE_POINTS if correct else 0
    if not answer.text:
        return Judgement(correct, points)
    grade = grade or grade_question(answer.text, question)
    # points_for takes the Grade: a wrong verdict earns no written points, whatever its score
    return Judgement(correct if answer.choice is not None else grade.passed, points + points_for(grade), grade)

