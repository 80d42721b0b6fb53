"""Mock interviews (/quiz mock [level]): a member's own timed run of questions, ending with a report.

- Five questions, one at a time, mixing multiple choice and open-ended (two open-ended ones, never first).
- Difficulty follows the answers: levels sit on a ladder, basic < intermediate < advanced, with system-design as
  hard as advanced. A right answer in time moves the next question one step up, anything else one step down. Other
  levels (career, prompt-engineering) are tracks, not steps: a mock draws from the ladder's levels, and
  `/quiz mock career` asks career questions only.
- Each question is a round of kind MOCK with a deadline: 60 s for multiple choice, 5 min for open-ended (per
  workspace: /quiz setup mock_mc=... mock_open=...). The deadline is checked when the answer comes, by the engine's
  clock: a late answer is graded and kept (stats, FSRS) but scores 0 in the mock.
- The next question comes with the feedback on each answer; after the last, the report. `/quiz mock stop` ends a
  mock early with a report so far. One open mock per member (a unique index says so); everything lives in the
  database (mocks, mock_items, rounds), so a mock goes on across restarts.
- Mock answers count in the member's stats and reviews (Rounds grades them and updates the FSRS card), never on
  the leaderboard (nothing here adds points).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from bot import outcomes as o
from bot.clock import Clock, parse_iso
from bot.db import Row
from bot.events import Kind, Outgoing
from bot.models import Bank, ChannelSettings, Member, Place, Question, Round, RoundKind
from bot.selection import RECENT_DAYS, pick_for_member
from bot.store import Store

LENGTH = 5
OPEN_QUESTIONS = 2  # of the LENGTH, answered in words
LADDER = {"basic": 0, "intermediate": 1, "advanced": 2, "system-design": 2}
MIDDLE = 1  # where a mock with no level starts
MC, OPEN = "mc", "open"
STUDY_NEXT = 3

SettingsFor = Callable[[str, str], ChannelSettings]


def tier_of(level: str) -> int:
    return LADDER.get(level.lower(), MIDDLE)


def on_ladder(level: str) -> bool:
    return level.lower() in LADDER


class Mocks:
    def __init__(self, store: Store, bank: Bank, settings_for: SettingsFor, clock: Clock,
                 rng: random.Random | None = None) -> None:
        self.store = store
        self.bank = bank
        self.settings_for = settings_for
        self.clock = clock
        self.rng = rng or random.Random()

    # ---- commands ------------------------------------------------------------------------

    def start(self, member: Member, place: Place, level: str | None) -> list[Outgoing]:
        current = self.store.open_mock(place.platform, place.workspace, member.user_id)
        if current is not None:
            return self._where(current, member, place)
        if not self._usable(level, set()):
            return [self._say(place, member, o.MockNoQuestions(level))]
        now = self.clock()
        plan = [MC] * LENGTH
        for position in self.rng.sample(range(1, LENGTH), OPEN_QUESTIONS):
            plan[position] = OPEN
        with self.store.transaction():
            mock_id = self.store.create_mock(member, place, level, json.dumps(plan), tier_of(level or "intermediate"),
                                             now)
            if mock_id is None:  # another request opened one a moment ago
                current = self.store.open_mock(place.platform, place.workspace, member.user_id)
                return self._where(current, member, place) if current else []
            mock = self.store.mock(mock_id)
            assert mock is not None
            return self._ask(mock, 0, member, now)

    def stop(self, member: Member, place: Place) -> list[Outgoing]:
        mock = self.store.open_mock(place.platform, place.workspace, member.user_id)
        if mock is None:
            return [self._say(place, member, o.NoMockOpen())]
        now = self.clock()
        with self.store.transaction():
            if not self.store.end_mock(mock["id"], "stopped", now):
                return [self._say(place, member, o.NoMockOpen())]
            for item in self.store.mock_items(mock["id"]):
                if item["answered_at"] is None:
                    self.store.close_round(item["round_id"], now)  # a later answer to it is refused
        return [self._report(mock, member, now, stopped=True)]

    # ---- answers (from Rounds, once the answer is graded and its card updated) ----------------

    def answered(self, rnd: Round, question: Question, member: Member, correct: bool, score: float | None,
                 found: list[bool] | None, choice: int | None, now: datetime,
                 arrived: datetime | None = None) -> list[Outgoing]:
        """`arrived`: when the answer came, if before `now` (a judge graded it meanwhile); the time limit is
        checked against it, and the next question is asked `now`."""
        item = self.store.mock_item_for_round(rnd.id)
        mock = self.store.mock(item["mock_id"]) if item else None
        if item is None or mock is None:
            return []
        deadline, asked = parse_iso(item["deadline"]), parse_iso(item["asked_at"])
        answered = arrived or now
        late = answered > deadline
        with self.store.transaction():
            if not self.store.set_mock_result(mock["id"], item["position"], answered, correct, score, late, found,
                                              choice):
                return []
            limit = int((deadline - asked).total_seconds())
            seconds = int((answered - asked).total_seconds())
            out = [Outgoing(Kind.FEEDBACK, rnd.place, outcome=o.MockAnswered(question, correct, late, seconds, limit),
                            round_id=rnd.id, to=member)]
            if mock["ended_at"] is not None:
                return out  # stopped while this answer was on its way
            tier = self._step(mock["tier"], correct and not late, mock["level"])
            self.store.set_mock_tier(mock["id"], tier)
            mock = {**mock, "tier": tier}
            following = item["position"] + 1
            if following < len(json.loads(mock["plan"])):
                asked_next = self._ask(mock, following, member, now)
                if asked_next:
                    return out + asked_next
            self.store.end_mock(mock["id"], "done", now)
            return [*out, self._report(mock, member, now, stopped=False)]

    # ---- asking ----------------------------------------------------------------------------------

    def _ask(self, mock: Row, position: int, member: Member, now: datetime) -> list[Outgoing]:
        """Put question `position` to the member; [] when no question is left to ask (the mock then ends)."""
        place = Place(mock["platform"], mock["workspace"], mock["channel"])
        asked = {item["question_id"] for item in self.store.mock_items(mock["id"])}
        question = self._pick(mock, position, asked, member, now)
        if question is None:
            return []
        settings = self.settings_for(place.platform, place.workspace)
        limit = settings.mock_open if question.is_open else settings.mock_mc
        deadline = now + timedelta(seconds=limit)
        round_id = self.store.create_round(place, RoundKind.MOCK, question.id, question.level, now,
                                           owner=member.user_id, deadline=deadline)
        assert round_id is not None  # only daily rounds can collide
        self.store.add_mock_item(mock["id"], position, question.id, round_id, now, deadline)
        total = len(json.loads(mock["plan"]))
        shown = o.MockQuestion(question, position, total, limit, deadline, first=position == 0)
        return [Outgoing(Kind.PERSONAL, place, outcome=shown, choices=question.choices, round_id=round_id, to=member,
                         deadline=deadline)]

    def _usable(self, level: str | None, asked: set[str]) -> list[Question]:
        broken = self.store.broken_questions()
        pool = [q for q in self.bank.questions if q.id not in broken and q.id not in asked]
        if level is not None and not on_ladder(level):
            return [q for q in pool if q.level == level]  # a track: its own questions only
        return [q for q in pool if on_ladder(q.level)] or pool  # the ladder's levels (a bank without: all of them)

    def _pick(self, mock: Row, position: int, asked: set[str], member: Member, now: datetime) -> Question | None:
        """The question for `position`: the planned format at the current tier, else the nearest that exists."""
        level = mock["level"]
        pool = self._usable(level, asked)
        if not pool:
            return None
        if position == 0 and level is not None:
            pool = [q for q in pool if q.level == level] or pool  # a mock of a level starts with that level
        wanted = json.loads(mock["plan"])[position] == OPEN
        tier = mock["tier"]
        tiers = sorted({tier_of(q.level) for q in pool}, key=lambda t: (abs(t - tier), t))
        recent = self.store.member_seen(mock["platform"], mock["workspace"], member.user_id,
                                        now - timedelta(days=RECENT_DAYS))
        for is_open in (wanted, not wanted):
            for t in tiers:
                fits = [q for q in pool if q.is_open == is_open and tier_of(q.level) == t]
                if fits:
                    return pick_for_member(fits, recent, self.rng)
        return None

    def _step(self, tier: int, scored: bool, level: str | None) -> int:
        """The next question's tier: one step up the bank's ladder after a scored answer, one down otherwise."""
        ladder = sorted({tier_of(q.level) for q in self._usable(level, set())})
        if not ladder:
            return tier
        if scored:
            higher = [t for t in ladder if t > tier]
            return higher[0] if higher else max(ladder)
        lower = [t for t in ladder if t < tier]
        return lower[-1] if lower else min(ladder)

    # ---- where a member is, and the report -----------------------------------------------------

    def _where(self, mock: Row, member: Member, place: Place) -> list[Outgoing]:
        total = len(json.loads(mock["plan"]))
        items = self.store.mock_items(mock["id"])
        out = [self._say(place, member, o.MockAlreadyOpen(mock["position"], total, parse_iso(mock["started_at"])))]
        current = next((i for i in items if i["position"] == mock["position"] and i["answered_at"] is None), None)
        question = self.bank.get(current["question_id"]) if current else None
        if current is not None and question is not None:
            asked, deadline = parse_iso(current["asked_at"]), parse_iso(current["deadline"])
            limit = int((deadline - asked).total_seconds())
            shown = o.MockQuestion(question, current["position"], total, limit, deadline, again=True)
            out.append(Outgoing(Kind.PERSONAL, Place(mock["platform"], mock["workspace"], mock["channel"]),
                                outcome=shown, choices=question.choices, round_id=current["round_id"], to=member,
                                deadline=deadline))
        return out

    def _report(self, mock: Row, member: Member, now: datetime, stopped: bool) -> Outgoing:
        from bot.stats import member_record

        results = []
        for item in self.store.mock_items(mock["id"]):
            question = self.bank.get(item["question_id"])
            if question is None:
                continue  # gone from the bank since
            answered = item["answered_at"] is not None
            seconds = int((parse_iso(item["answered_at"]) - parse_iso(item["asked_at"])).total_seconds()) \
                if answered else None
            found = tuple(json.loads(item["found"])) if item["found"] else None
            results.append(o.MockItemResult(question, answered, bool(item["correct"]), bool(item["late"]), seconds,
                                            item["choice"], found))
        place = Place(mock["platform"], mock["workspace"], mock["channel"])
        record = member_record(self.store, self.bank, member, place)
        missed: list[str] = []
        for result in results:
            if not result.scored and result.question.topic not in missed:
                missed.append(result.question.topic)

        def accuracy(topic: str) -> float:
            tally = record.by_topic.get(topic)
            return tally.accuracy if tally else 0.0

        study = sorted(missed, key=lambda t: (accuracy(t), t))[:STUDY_NEXT]
        if len(study) < 2:  # fill from the member's weakest topics overall
            study += [t for t, _ in record.weakest(STUDY_NEXT) if t not in study][: STUDY_NEXT - len(study)]
        seconds = int((now - parse_iso(mock["started_at"])).total_seconds())
        report = o.MockReport(tuple(results), len(json.loads(mock["plan"])), seconds, stopped, tuple(study))
        return Outgoing(Kind.FEEDBACK, place, outcome=report, to=member)

    @staticmethod
    def _say(place: Place, member: Member, outcome: o.Outcome) -> Outgoing:
        return Outgoing(Kind.NOTICE, place, outcome=outcome, to=member)
