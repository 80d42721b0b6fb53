"""/quiz export: a member's missed questions as an Anki deck (bot/anki.py builds it), handed over privately.

The deck is written next to the database, one file per member (a new export replaces it), and rides on the
private answer as its `file`: Discord attaches it to an ephemeral message, Slack uploads it to a direct message,
the console prints its path. Questions marked broken are left out: their key may be the reason for the miss.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from bot import outcomes as o
from bot.anki import MISSED_DECK_ID, AnkiError, build_deck, write_deck
from bot.events import Kind, Outgoing
from bot.models import Bank, Member, Place
from bot.store import Store

log = logging.getLogger(__name__)

DECK_NAME = "studybot: missed questions"


def deck_file_name(member: Member) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{member.platform}-{member.user_id}").strip("-")[:80]
    return f"studybot-missed-{slug}.apkg"


class MemberDecks:
    def __init__(self, store: Store, bank: Bank, directory: Path) -> None:
        self.store = store
        self.bank = bank
        self.directory = directory

    def export(self, member: Member, place: Place) -> list[Outgoing]:
        missed = self.store.missed_questions(place.platform, place.workspace, member.user_id)
        broken = self.store.broken_questions()
        questions = [q for q in (self.bank.get(qid) for qid in missed) if q is not None and q.id not in broken]
        if not questions:
            return [Outgoing(Kind.NOTICE, place, outcome=o.ExportEmpty(), to=member)]
        path = self.directory / deck_file_name(member)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_deck(build_deck(questions, DECK_NAME, MISSED_DECK_ID), path)
        except (AnkiError, OSError) as error:
            log.error("could not write the deck of %s: %s", member.user_id, error)
            return [Outgoing(Kind.NOTICE, place, outcome=o.ExportFailed("the file could not be written"), to=member)]
        return [Outgoing(Kind.NOTICE, place, outcome=o.ExportReady(len(questions), path.name), to=member, file=path)]
