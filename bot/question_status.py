"""/quiz broken (admins): mark a question broken, so that no pick draws it (daily, /quiz post, personal questions,
reviews, mocks); `off` brings it back; alone, the list. Kept in the question_status table, for every workspace
(the bank is shared); `studybot items` shows the marks. Members' own reports are another matter (/quiz flag).
"""

from __future__ import annotations

from bot import outcomes as o
from bot.clock import Clock
from bot.models import Bank, Member
from bot.store import Store
from bot.topics import SUGGESTED, closest

MAX_REASON = 200
OFF = ("off", "fixed", "ok", "unbroken")


class QuestionStatus:
    def __init__(self, store: Store, bank: Bank, clock: Clock) -> None:
        self.store = store
        self.bank = bank
        self.clock = clock

    def command(self, member: Member, args: tuple[str, ...]) -> o.Outcome:
        if not args:
            marked = self.store.broken_questions()
            return o.BrokenListed(tuple((qid, marked[qid]["reason"]) for qid in sorted(marked)))
        wanted, rest = args[0], args[1:]
        question_id = self._known(wanted)
        if question_id is None and wanted in self.store.broken_questions():
            question_id = wanted  # gone from the bank since it was marked: it can still be unmarked
        if question_id is None:
            ids = [q.id for q in self.bank.questions]  # never a fuzzy pick: a typo must not mark another question
            return o.UnknownQuestion(wanted, tuple(closest(wanted, ids, SUGGESTED)))
        by = f"{member.platform}:{member.user_id}"
        if len(rest) == 1 and rest[0].lower() in OFF:
            self.store.set_question_status(question_id, "ok", None, by, self.clock())
            return o.QuestionMarked(question_id, broken=False)
        reason = " ".join(rest)[:MAX_REASON] or None
        self.store.set_question_status(question_id, "broken", reason, by, self.clock())
        return o.QuestionMarked(question_id, broken=True, reason=reason)

    def _known(self, wanted: str) -> str | None:
        """The question id as the bank spells it (ids differ from each other beyond case), or None."""
        if self.bank.get(wanted) is not None:
            return wanted
        lowered = wanted.lower()
        return next((q.id for q in self.bank.questions if q.id.lower() == lowered), None)
