"""The team features (issue 16) behind the engine's front door: /quiz flag and /quiz flags, /quiz forget-me (and
`studybot forget`), the season board and the season's end, the reminder before a reveal; /quiz suggest and
/quiz suggestions are bot/suggestions.py's.

Reports (/quiz flag) count per workspace: a member's reports of one question count once, and a question reported
by FLAGS_TO_PAUSE members since an admin last reviewed it is paused there (no pick draws it) until an admin
clears its reports (/quiz flags clear <id>, also shown in /quiz suggestions).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot import outcomes as o
from bot import texts
from bot.clock import Clock
from bot.db import Row
from bot.events import Action, Kind, Outgoing
from bot.models import Bank, ChannelSettings, Member, Place, Round
from bot.seasons import label, previous_key, season_key
from bot.store import Store
from bot.suggestions import FORGOTTEN, Suggestions

log = logging.getLogger(__name__)

FLAGS_TO_PAUSE = 3
MAX_REASON = 200
TEAM_COMMANDS = ("suggest", "suggestions", "flag", "flags", "forget-me")
CONFIRM = ("confirm", "yes")
BOARD_SIZE = 10

SettingsFor = Callable[[str, str], ChannelSettings]


def member_files(charts_dir: Path, decks_dir: Path) -> Callable[[Member, list[str]], list[Path]]:
    """The files studybot writes for a member: their stats charts (bot/charts.py) and missed-questions deck."""
    def files(member: Member, workspaces: list[str]) -> list[Path]:
        found = [charts_dir / f"stats-{_safe(f'{member.platform}-{workspace}-{member.user_id}')}.png"
                 for workspace in workspaces]
        try:
            from bot.decks import deck_file_name
        except ImportError:  # a studybot without /quiz export
            return found
        return [*found, decks_dir / deck_file_name(member)]

    return files


def _safe(text: str) -> str:  # as bot/charts.py names a chart
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:80]


class Team:
    def __init__(self, store: Store, bank: Bank, settings_for: SettingsFor, clock: Clock,
                 files: Callable[[Member, list[str]], list[Path]] | None = None) -> None:
        """`files`: the files kept for a member (their stats charts, decks), given the workspaces they are known in."""
        self.store = store
        self.bank = bank
        self.settings_for = settings_for
        self.clock = clock
        self.files = files or (lambda member, workspaces: [])
        self.suggestions = Suggestions(store, bank, clock, self._tell_admins)

    def _tell_admins(self, platform: str, workspace: str, text: str) -> None:
        self.store.add_notice(platform, workspace, text, self.clock())

    def command(self, name: str, args: tuple[str, ...], member: Member, place: Place, admin: bool) -> list[Outgoing]:
        """One of TEAM_COMMANDS (admin-only ones are refused before, by the engine)."""
        if name == "forget-me":
            return self.forget_me(member, place, args)
        if name == "flag":
            return [self._say(member, place, self.flag(member, place, " ".join(args)))]
        if name == "flags":
            return [self._say(member, place, self.flags(member, place, args))]
        if name == "suggest":
            return self.suggestions.suggest(member, place, args, admin)
        if not args:  # /quiz suggestions: what waits for an admin
            paused = tuple(f for f in self.flag_summaries(place) if f.paused)
            return [self._say(member, place, o.SuggestionsListed(self.suggestions.pending(place), paused))]
        if args[0].lower() in ("approve", "reject", "edit"):
            return self.suggestions.decide(member, place, args)
        if args[0].lower() == "clear":
            return [self._say(member, place, self.flags(member, place, args))]
        return [self._say(member, place, o.SuggestionsUsage(f"unknown action `{args[0][:40]}`"))]

    @staticmethod
    def _say(member: Member, place: Place, outcome: o.Outcome, **extra: Any) -> Outgoing:
        return Outgoing(Kind.NOTICE, place, outcome=outcome, to=member, **extra)

    # ---- forgetting a member ---------------------------------------------------------------------------

    def forget_me(self, member: Member, place: Place, args: tuple[str, ...]) -> list[Outgoing]:
        """/quiz forget-me asks first (a button, or "yes" in the console); `forget-me confirm` deletes."""
        counts = self.store.member_data(member.user_id, member.platform)
        kept = tuple((kind, n) for kind, n in counts.items() if n)
        if not kept:
            return [self._say(member, place, o.NothingToForget())]
        if args and args[0].lower() in CONFIRM:
            self.forget(member.user_id, member.platform)
            return [self._say(member, place, o.Forgotten(kept))]
        confirm = (Action("Delete my data", "forget-me confirm"),)
        return [self._say(member, place, o.ForgetAsk(kept), actions=confirm)]

    def forget(self, user_id: str, platform: str | None = None) -> dict[str, int]:
        """Delete one member's personal data (on one platform, or on every one); what was found, by kind."""
        counts = self.store.member_data(user_id, platform)
        if not any(counts.values()):
            return counts
        where, params = (("platform = ? AND user_id = ?", (platform, user_id)) if platform
                         else ("user_id = ?", (user_id,)))
        places = self.store.rows(f"SELECT DISTINCT platform, workspace FROM answers WHERE {where} "
                                 f"UNION SELECT DISTINCT platform, workspace FROM cards WHERE {where}", params + params)
        self.store.forget_member(user_id, platform, FORGOTTEN + secrets.token_hex(8))
        by_platform: dict[str, list[str]] = {}
        for row in places:
            by_platform.setdefault(row["platform"], []).append(row["workspace"])
        for on, workspaces in by_platform.items():
            for path in self.files(Member(on, user_id, ""), workspaces):
                try:
                    path.unlink(missing_ok=True)
                except OSError as error:
                    log.warning("could not delete %s: %s", path, error)
        return counts

    # ---- reports -------------------------------------------------------------------------------------

    def _seen(self, member: Member, place: Place) -> Round | None:
        if place.thread:  # typed in a round's thread: that round
            rnd = self.store.round_by_message(place.platform, place.thread)
            if rnd is not None:
                return rnd
        return self.store.latest_round_seen(place.platform, place.workspace, place.channel, member.user_id)

    def flag(self, member: Member, place: Place, reason: str) -> o.Outcome:
        """/quiz flag [reason]: report the question the member saw last."""
        rnd = self._seen(member, place)
        question = self.bank.get(rnd.question_id) if rnd else None
        if rnd is None or question is None:
            return o.NothingToFlag()
        note = " ".join(reason.split())[:MAX_REASON] or None
        if not self.store.flag_question(question.id, place.platform, place.workspace, member.user_id, note,
                                        self.clock()):
            return o.FlagRepeated(question)
        reports = len(self.store.open_flags(place.platform, place.workspace, question.id))
        paused = reports == FLAGS_TO_PAUSE  # this report paused it (later ones find it paused already)
        notice = o.QuestionReported(question.id, question.question, note, reports, reports >= FLAGS_TO_PAUSE)
        self._tell_admins(place.platform, place.workspace, texts.render(notice)[1])
        return o.Flagged(question, reports, paused)

    def flag_summaries(self, place: Place) -> list[o.FlagSummary]:
        by_question: dict[str, list[Row]] = {}
        for row in self.store.open_flags(place.platform, place.workspace):
            by_question.setdefault(row["question_id"], []).append(row)
        out = []
        for question_id, rows in by_question.items():
            question = self.bank.get(question_id)
            reasons = tuple(r["reason"] for r in rows if r["reason"])[-3:]
            out.append(o.FlagSummary(question_id, question.question if question else "", len(rows),
                                     len(rows) >= FLAGS_TO_PAUSE, reasons))
        return sorted(out, key=lambda f: (-f.reports, f.question_id))

    def flags(self, member: Member, place: Place, args: tuple[str, ...]) -> o.Outcome:
        """/quiz flags: the open reports; `/quiz flags clear <question id>`: reviewed, the question is asked again."""
        if not args:
            return o.FlagsListed(tuple(self.flag_summaries(place)))
        if args[0].lower() != "clear" or len(args) != 2:
            return o.FlagsUsage()
        wanted = args[1]
        open_ids = {f.question_id.lower(): f for f in self.flag_summaries(place)}
        found = open_ids.get(wanted.lower())
        if found is None:
            return o.FlagsUsage(wanted)
        cleared = self.store.clear_flags(place.platform, place.workspace, found.question_id,
                                         f"{member.platform}:{member.user_id}", self.clock())
        return o.FlagsCleared(found.question_id, cleared)

    def paused(self, place: Place) -> set[str]:
        return self.store.paused_questions(place.platform, place.workspace, FLAGS_TO_PAUSE)

    # ---- seasons ------------------------------------------------------------------------------------

    def season_board(self, place: Place, user_id: str | None = None) -> o.Outcome:
        settings = self.settings_for(place.platform, place.workspace)
        if not settings.season:
            return o.SeasonsOff()
        key = season_key(self.clock(), settings.timezone, settings.season)
        standings = tuple(self.store.season_standings(place.platform, place.workspace, key, BOARD_SIZE))
        own = self.store.season_standing_of(place.platform, place.workspace, key, user_id) if user_id else None
        return o.SeasonBoardShown(standings, label(key), own)

    def season_end(self, platform: str, workspace: str, only_if_scored: bool = False) -> list[Outgoing]:
        """The season that just ended: its winners, posted once in the channel (a new season starts with no points).

        `only_if_scored`: at a start after the bot was down over the season's end, only a season with points."""
        settings = self.settings_for(platform, workspace)
        if not settings.season or settings.place is None:
            return []
        current = season_key(self.clock(), settings.timezone, settings.season)
        ended = previous_key(current)
        standings = tuple(self.store.season_standings(platform, workspace, ended, BOARD_SIZE))
        if only_if_scored and not standings:
            return []
        if not self.store.claim_once(f"season:{platform}:{workspace}:{ended}", "posted"):
            return []  # posted already (by this replica before a restart, or by another one)
        return [Outgoing(Kind.BOARD, settings.place, outcome=o.SeasonEnded(label(ended), standings, label(current)))]

    # ---- the reminder before a reveal ---------------------------------------------------------------------

    def remind_at(self, rnd: Round) -> datetime | None:
        """When a channel round's reminder is due (/quiz setup remind=1h), or None: off, or no time for one."""
        if not rnd.is_channel or not rnd.is_open or rnd.deadline is None:
            return None
        settings = self.settings_for(rnd.place.platform, rnd.place.workspace)
        if not settings.remind_before:
            return None
        at = rnd.deadline - timedelta(seconds=settings.remind_before)
        return at if at > rnd.posted_at else None

    def round_reminder(self, round_id: int) -> list[Outgoing]:
        """"1 hour left, 5 answers so far" in the round's thread, once."""
        rnd = self.store.round(round_id)
        if rnd is None or rnd.message_id is None or rnd.deadline is None:
            return []
        at, now = self.remind_at(rnd), self.clock()
        if at is None or now < at - timedelta(seconds=5) or now >= rnd.deadline:
            return []
        if not self.store.claim_once(f"remind:{round_id}", "posted"):
            return []
        left = int((rnd.deadline - now).total_seconds())
        answers = len(self.store.answers(round_id))
        thread = rnd.place.in_thread(rnd.thread_id or rnd.message_id)
        return [Outgoing(Kind.NOTICE, thread, outcome=o.RoundReminder(left, answers), round_id=round_id)]
