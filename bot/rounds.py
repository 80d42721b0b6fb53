"""Rounds: channel rounds (the daily question, /quiz post) and a member's own questions.

Posting, answers (first pick locks in, one written answer), personal feedback, and the reveal:
scoring, streaks, FSRS cards, all in one transaction per reveal. Written answers of a channel round
are graded off the event loop before the reveal writes (by the optional model judge, or the
built-in grader in a worker thread).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bot import outcomes as o
from bot import texts
from bot.clock import Clock, local_date, week_of
from bot.events import ChoiceMade, Kind, Outgoing, WrittenAnswer
from bot.grading import Grade, grade_question, points_for
from bot.judge import fallback_grade
from bot.metrics import Metrics
from bot.models import Answer, Bank, ChannelSettings, Member, Place, Question, Round, RoundKind
from bot.seasons import season_key
from bot.selection import RECENT_DAYS, pick_for_channel, pick_for_member
from bot.store import Store
from bot.study import Study

if TYPE_CHECKING:
    from bot.mocks import Mocks

log = logging.getLogger(__name__)

CHOICE_POINTS = 10
MAX_WRITTEN = 100_000


@dataclass(frozen=True)
class RoundOpened:
    round_id: int
    deadline: datetime


@dataclass(frozen=True)
class SettingsChanged:
    settings: ChannelSettings


EngineEvent = RoundOpened | SettingsChanged


class EngineEvents:
    """What the scheduler hears from the engine: rounds opened, settings changed. Built and shared by the
    composition root, so nothing wires itself into another object's lists."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[EngineEvent], None]] = []

    def subscribe(self, listener: Callable[[EngineEvent], None]) -> None:
        self._listeners.append(listener)

    def emit(self, event: EngineEvent) -> None:
        for listener in self._listeners:
            listener(event)


class AsyncGrader(Protocol):
    """Grades written answers without blocking the event loop (bot.judge.Judge); one grade per item, in order."""

    async def grade_many(self, items: Sequence[tuple[str, Question]]) -> list[Grade]: ...


SettingsFor = Callable[[str, str], ChannelSettings]


class Rounds:
    def __init__(self, store: Store, bank: Bank, settings_for: SettingsFor, events: EngineEvents,
                 study: Study | None = None, clock: Clock = datetime.now, rng: random.Random | None = None,
                 metrics: Metrics | None = None, grader: AsyncGrader | None = None, *,
                 mocks: Mocks | None = None) -> None:
        self.store = store
        self.bank = bank
        self.settings_for = settings_for
        self.events = events
        self.study = study
        self.clock = clock
        self.rng = rng or random.Random()
        self.metrics = metrics or Metrics()
        self.grader = grader  # optional (the model judge): grades written answers, at the reveal or at once
        self._pregrading: set[int] = set()
        # Questions members' reports paused in a workspace (bot/team.py, set by the engine); none without it.
        self.paused: Callable[[Place], set[str]] | None = None
        self.mocks = mocks  # a mock question's answer goes on to the next question (bot/mocks.py)

    def _round_for(self, platform: str, round_id: int | None, message_id: str | None) -> Round | None:
        if round_id is not None:
            rnd = self.store.round(round_id)
            return rnd if rnd and rnd.place.platform == platform else None
        if message_id:
            return self.store.round_by_message(platform, message_id)
        return None

    def choice(self, ev: ChoiceMade) -> list[Outgoing]:
        rnd = self._round_for(ev.member.platform, ev.round_id, ev.message_id)
        question = self.bank.get(rnd.question_id) if rnd else None
        if rnd is None or question is None:
            return []  # a reaction on some other message
        if not 1 <= ev.choice <= len(question.choices):
            if ev.round_id is None:
                return []  # a reaction that is not one of the choices
            if question.is_open:
                return [self._note(rnd, ev.member, o.OpenNeedsWords())]
            return [self._note(rnd, ev.member, o.PickOutOfRange(len(question.choices)))]
        refusal = self._refusal(rnd, ev.member)
        if refusal:
            return [refusal]
        now = self.clock()
        if not self.store.record_choice(rnd, ev.member, ev.choice, now):
            previous = self.store.answer(rnd.id, ev.member.user_id)
            if previous is None or previous.choice is None:  # closed by a reveal since the deadline check
                return [self._note(rnd, ev.member, o.RoundIsClosed())]
            return [self._note(rnd, ev.member, o.AlreadyPicked(previous.choice))]
        self.metrics.answers_recorded += 1
        if not rnd.is_channel:
            return self._finish_personal(rnd, question, ev.member)
        return [self._note(rnd, ev.member, o.PickLocked(ev.choice))]

    async def written_async(self, ev: WrittenAnswer) -> list[Outgoing]:
        """written(); with the async grader (the model judge) set, an answer to a member's own question (private,
        review, mock) is graded by it first, as a channel round's answers are at the reveal. It counts as given
        when it arrived, not when the judge answered (a mock question's time limit)."""
        if self.grader is None:
            return self.written(ev)
        rnd = self._round_for(ev.member.platform, ev.round_id, ev.message_id)
        question = self.bank.get(rnd.question_id) if rnd else None
        text = ev.text.strip()
        if (rnd is None or question is None or rnd.is_channel or self._refusal(rnd, ev.member) or not text
                or len(text) > MAX_WRITTEN):
            return self.written(ev)  # graded at a reveal, or refused at once: no judge needed
        arrived = self.clock()
        try:
            [grade] = await self.grader.grade_many([(text, question)])
        except asyncio.CancelledError:
            # Stopped (a shutdown) while the judge was thinking: the built-in grader grades the answer now, so the
            # member's words are kept and answered, and the cancellation counts as handled.
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            grade = fallback_grade(grade_question(text, question))
        return self.written(ev, grade, arrived)

    def written(self, ev: WrittenAnswer, grade: Grade | None = None, arrived: datetime | None = None
                ) -> list[Outgoing]:
        """A written answer: saved for a channel round's reveal, or graded at once on a member's own question (by
        `grade` when the judge made it, received at `arrived`)."""
        rnd = self._round_for(ev.member.platform, ev.round_id, ev.message_id)
        question = self.bank.get(rnd.question_id) if rnd else None
        if rnd is None or question is None:
            return []  # a message in some other thread
        refusal = self._refusal(rnd, ev.member, arrived)
        if refusal:
            return [refusal]
        text = ev.text.strip()
        if not text:
            return [self._note(rnd, ev.member, o.EmptyAnswer())]
        if len(text) > MAX_WRITTEN:
            return [self._note(rnd, ev.member, o.AnswerTooLong(len(text), MAX_WRITTEN))]
        if not self.store.record_written(rnd, ev.member, text, arrived or self.clock()):
            previous = self.store.answer(rnd.id, ev.member.user_id)
            if previous is None or previous.text is None:  # closed by a reveal since the deadline check
                return [self._note(rnd, ev.member, o.RoundIsClosed())]
            return [self._note(rnd, ev.member, o.AlreadyWrote())]
        self.metrics.answers_recorded += 1
        if not rnd.is_channel:
            return self._finish_personal(rnd, question, ev.member, grade, arrived)
        return [self._note(rnd, ev.member, o.WrittenSaved())]

    def current_round(self, member: Member, place: Place) -> int | None:
        """The round a bare answer is for, where a platform has no threads or buttons (the console)."""
        rnd = self.store.open_personal_round(place, member.user_id) or self.store.latest_open_channel_round(place)
        return rnd.id if rnd else None

    def _refusal(self, rnd: Round, member: Member, arrived: datetime | None = None) -> Outgoing | None:
        if not rnd.is_channel and rnd.owner != member.user_id:
            return self._note(rnd, member, o.NotYourQuestion())
        # A mock question's deadline is its time limit: a late answer is still taken, and marked late.
        now = arrived or self.clock()
        late = rnd.deadline is not None and now >= rnd.deadline and rnd.kind is not RoundKind.MOCK
        if not rnd.is_open or late:
            if not rnd.is_channel:
                return self._note(rnd, member, o.AlreadyAnswered())
            return self._note(rnd, member, o.RoundIsClosed())
        return None

    def _note(self, rnd: Round, member: Member, outcome: o.Outcome) -> Outgoing:
        return Outgoing(Kind.FEEDBACK, rnd.place.in_thread(rnd.thread_id or rnd.message_id), outcome=outcome,
                        to=member, round_id=rnd.id)

    def personal_round(self, member: Member, place: Place, level: str | None, kind: RoundKind = RoundKind.PERSONAL,
                       question: Question | None = None, pool: list[Question] | None = None,
                       what: str = "that level") -> list[Outgoing]:
        """A member's own question: `question`, else one drawn from `pool` (default: the level's), never a broken
        one."""
        now = self.clock()
        if question is None:
            usable = self.usable(self.bank.of_level(level) if pool is None else pool)
            if not usable:
                return [Outgoing(Kind.NOTICE, place, outcome=o.NoQuestionLeft(what), to=member)]
            since = now - timedelta(days=RECENT_DAYS)
            recent = self.store.member_seen(place.platform, place.workspace, member.user_id, since)
            question = pick_for_member(self.unpaused(place, usable), recent, self.rng)
        round_id = self.store.create_round(place, kind, question.id, question.level, now, owner=member.user_id)
        return [Outgoing(Kind.PERSONAL, place, outcome=o.QuestionAsked(question, kind), choices=question.choices,
                         round_id=round_id, to=member)]

    def _finish_personal(self, rnd: Round, question: Question, member: Member, grade: Grade | None = None,
                         arrived: datetime | None = None) -> list[Outgoing]:
        now = self.clock()
        answered = arrived or now
        with self.store.transaction():
            if not self.store.close_round(rnd.id, answered):
                return []
            answer = self.store.answer(rnd.id, member.user_id)
            assert answer is not None
            result = judge(answer, question, grade)
            self.store.set_result(answer.id, result.correct, result.score, 0, result.found)
        if self.study:
            self.study.after_answer(rnd, answer.user_id, result.correct, result.score, answered)
        if rnd.kind is RoundKind.MOCK and self.mocks is not None:
            return self.mocks.answered(rnd, question, member, result.correct, result.score, result.found, answer.choice,
                                       now, answered)
        note = getattr(result.grade, "note", "")  # a JudgeGrade says which grader graded it
        outcome = o.PersonalResult(question, answer.choice, result.grade, note)
        return [Outgoing(Kind.FEEDBACK, rnd.place, outcome=outcome, round_id=rnd.id, to=member)]

    def usable(self, pool: list[Question]) -> list[Question]:
        """The questions of `pool` no admin marked broken (/quiz broken)."""
        broken = self.store.broken_questions()
        return [q for q in pool if q.id not in broken] if broken else list(pool)

    def unpaused(self, place: Place, pool: list[Question]) -> list[Question]:
        """`pool` without the questions paused in this workspace by members' reports (/quiz flag); the whole pool
        if that would leave nothing."""
        paused = self.paused(place) if self.paused is not None else set()
        if not paused:
            return pool
        return [q for q in pool if q.id not in paused] or pool

    def post_round(self, place: Place, level: str | None, requested_by: Member | None = None) -> list[Outgoing]:
        settings = self.settings_for(place.platform, place.workspace)
        out = self._open_channel_round(Place(place.platform, place.workspace, place.channel), RoundKind.POST, level,
                                       settings)
        if requested_by is not None:
            if not out:  # every question of the level is marked broken
                return [Outgoing(Kind.NOTICE, place, outcome=o.NoQuestionLeft("that level"), to=requested_by)]
            round_id = out[0].round_id if out else None
            out.append(Outgoing(Kind.NOTICE, place, outcome=o.RoundPostedHere(), to=requested_by, round_id=round_id))
        return out

    def daily_round(self, platform: str, workspace: str, day: str | None = None) -> list[Outgoing]:
        """The daily round for `day` (default: today, locally) in the workspace's channel, unless it exists."""
        settings = self.settings_for(platform, workspace)
        if settings.place is None:
            return []
        day = day or local_date(self.clock(), settings.timezone).isoformat()
        return self._open_channel_round(settings.place, RoundKind.DAILY, None, settings, daily_date=day)

    def _open_channel_round(self, place: Place, kind: RoundKind, level: str | None, settings: ChannelSettings,
                            daily_date: str | None = None) -> list[Outgoing]:
        now = self.clock()
        pool = self.usable(self.bank.of_level(level))
        if not pool:
            log.warning("no question of level %s to post in %s: each one is marked broken", level or "any",
                        place.channel)
            return []
        if not settings.open_questions:  # one-click rounds keep participation high: open-ended only by opt-in
            pool = [q for q in pool if not q.is_open] or pool  # a level of open questions alone still posts
        pool = self.unpaused(place, pool)
        weights = self.study.topic_weights(place) if self.study and kind is RoundKind.DAILY else None
        question = pick_for_channel(pool, self.store.times_asked(place), self.rng, weights)
        deadline = now + timedelta(seconds=settings.reveal_after)
        round_id = self.store.create_round(
            place, kind, question.id, question.level, now, daily_date=daily_date, timezone=settings.timezone,
            deadline=deadline, hidden_votes=settings.hidden_votes,
        )
        if round_id is None:
            log.info("daily round for %s on %s exists already", place.channel, daily_date)
            return []
        self.events.emit(RoundOpened(round_id, deadline))
        rnd = self.store.round(round_id)
        assert rnd is not None
        return [self.round_post(rnd, question)]

    def round_post(self, rnd: Round, question: Question) -> Outgoing:
        # /quiz setup ping=<group>: the group is mentioned on the daily post only
        ping = self.settings_for(rnd.place.platform, rnd.place.workspace).ping if rnd.kind is RoundKind.DAILY else None
        return Outgoing(Kind.ROUND, rnd.place, outcome=o.QuestionAsked(question, rnd.kind), choices=question.choices,
                        round_id=rnd.id, deadline=rnd.deadline, hidden_votes=rnd.hidden_votes, ping=ping)

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
        """reveal(), with the slow parts off the event loop: the written answers are graded (by the model judge,
        or the built-in grader in a worker thread), the review cards and the messages are computed in a worker
        thread, and the reveal's writes, batched in one transaction, run in a worker thread on that thread's own
        connection. A 1,000-answer round must not stall the loop (benchmarks/bench_reveal_stall.py)."""
        rnd = self.store.round(round_id)
        question = self.bank.get(rnd.question_id) if rnd else None
        if rnd is None or question is None or not rnd.is_open:
            return self.reveal(round_id)
        if round_id in self._pregrading:
            return []  # another reveal of this round is grading it now, and delivers it
        self._pregrading.add(round_id)
        try:
            answers = self.store.answers(round_id)
            written = [a for a in answers if a.text]
            items = [(a.text or "", question) for a in written]
            if self.grader is not None:
                made = await self.grader.grade_many(items)
            else:  # the built-in grader costs ~1-3 ms an answer
                made = await asyncio.to_thread(lambda: [grade_question(text, q) for text, q in items])
            grades = {a.id: g for a, g in zip(written, made, strict=True)}
            now = self.clock()
            results = await asyncio.to_thread(_judge_all, question, answers, grades)
            states = (self.store.card_states(rnd.place.platform, rnd.place.workspace, rnd.question_id,
                                             [a.user_id for a in answers]) if self.study else {})
            cards = await asyncio.to_thread(self._cards, rnd, results, states, now)
            if not await asyncio.to_thread(self._write_reveal, rnd, question, results, cards, now):
                return []
            return await asyncio.to_thread(self._reveal_messages, rnd, question, results)
        finally:
            self._pregrading.discard(round_id)

    def reveal(self, round_id: int, grades: dict[int, Grade] | None = None) -> list[Outgoing]:
        """Close a channel round once: score it and say what the answer was (`grades`: answer id -> grade made)."""
        now = self.clock()
        rnd = self.store.round(round_id)
        question = self.bank.get(rnd.question_id) if rnd else None
        if rnd is None or not rnd.is_open:
            return []
        if question is None:
            if self.store.close_round(round_id, now):
                log.warning("round %s: question %s is no longer in the bank; closed unscored", round_id,
                            rnd.question_id)
            return []
        answers = self.store.answers(round_id)
        results = _judge_all(question, answers, grades or {})
        states = (self.store.card_states(rnd.place.platform, rnd.place.workspace, rnd.question_id,
                                         [a.user_id for a in answers]) if self.study else {})
        if not self._write_reveal(rnd, question, results, self._cards(rnd, results, states, now), now):
            return []
        return self._reveal_messages(rnd, question, results)

    def _cards(self, rnd: Round, results: list[tuple[Answer, Judgement]], states: dict[str, str],
               now: datetime) -> list[tuple[str, str, datetime, int]]:
        if self.study is None:
            return []
        return self.study.reviewed(rnd.question_id, [(a.user_id, r.correct, r.score) for a, r in results], states, now)

    def _write_reveal(self, rnd: Round, question: Question, results: list[tuple[Answer, Judgement]],
                      cards: list[tuple[str, str, datetime, int]], now: datetime) -> bool:
        """Claim the round and write its whole outcome in one transaction; False when another reveal won it.

        Answers are closed at the deadline, so the ones judged before the claim are all there are; one that
        slipped in between (a reveal run early by hand) is judged here as well.
        """
        place = rnd.place
        with self.store.transaction():
            if not self.store.close_round(rnd.id, now):
                return False
            judged = {a.id for a, _ in results}
            if set(self.store.answer_ids(rnd.id)) - judged:
                late = [a for a in self.store.answers(rnd.id) if a.id not in judged]
                extra = _judge_all(question, late, {})
                results.extend(extra)
                states = (self.store.card_states(place.platform, place.workspace, rnd.question_id,
                                                 [a.user_id for a in late]) if self.study else {})
                cards.extend(self._cards(rnd, extra, states, now))
            self.store.set_results([(a.id, r.correct, r.score, r.points, r.found) for a, r in results])
            scored = [(a.user_id, a.name, r.points, r.correct) for a, r in results]
            self.store.add_scores(place.platform, place.workspace, week_of(rnd.posted_at, rnd.timezone), scored)
            settings = self.settings_for(place.platform, place.workspace)
            if settings.season:  # a point counts in the season in which it is revealed (bot/seasons.py)
                season = season_key(now, settings.timezone, settings.season)
                self.store.add_season_scores(place.platform, place.workspace, season, scored)
            if rnd.kind is RoundKind.DAILY:
                self.store.update_streaks(place.platform, place.workspace, [a.user_id for a, r in results if r.correct])
            self.store.save_cards(place.platform, place.workspace, rnd.question_id, cards)
        self.metrics.reveals += 1
        if rnd.deadline:
            self.metrics.reveal_lag_seconds.observe(max(0.0, (now - rnd.deadline).total_seconds()))
        return True

    def _reveal_messages(
        self, rnd: Round, question: Question, results: list[tuple[Answer, Judgement]]
    ) -> list[Outgoing]:
        """The reveal in the thread, each written answer's feedback, and the closed post; pure."""
        if rnd.message_id is None and not results:
            return []  # never reached its channel: nothing to reveal to anyone
        judged = tuple(replace(a, correct=r.correct, score=r.score, points=r.points, found=r.found)
                       for a, r in sorted(results, key=lambda item: item[0].id))
        right = tuple(texts.name_of(a.name) for a in judged if a.correct)
        thread = rnd.place.in_thread(rnd.thread_id or rnd.message_id)
        out = [Outgoing(Kind.REVEAL, thread, outcome=o.Revealed(question, judged, right), round_id=rnd.id)]
        for answer, result in results:
            if result.grade:
                note = getattr(result.grade, "note", "")  # a JudgeGrade says which grader graded it
                out.append(Outgoing(Kind.FEEDBACK, thread, outcome=o.WrittenGraded(question, result.grade, note),
                                    round_id=rnd.id, to=Member(rnd.place.platform, answer.user_id, answer.name)))
        if rnd.message_id:
            out.append(Outgoing(Kind.CLOSED, rnd.place, outcome=o.RoundClosedPost(question, rnd.kind),
                                choices=question.choices, round_id=rnd.id, edit_of=rnd.message_id))
        return out


def _judge_all(question: Question, answers: list[Answer], grades: dict[int, Grade]) -> list[tuple[Answer, Judgement]]:
    """Each answer's points and verdict (README, Scoring); pure."""
    return [(answer, judge(answer, question, grades.get(answer.id))) for answer in answers]


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

