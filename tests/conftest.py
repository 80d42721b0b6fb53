"""Shared fixtures: a fake clock, a real SQLite file per test, and an engine over a small bank."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import UTC
from bot.config import Settings
from bot.engine import QuizEngine
from bot.models import Member, Place
from bot.questions import load_bank
from bot.runtime import build_engine
from bot.store import Store

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
SHARED = REPO.parent / "shared"


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # a Monday


@pytest.fixture
def mini_bank():
    return load_bank(DATA / "mini_bank.yaml")


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "studybot.db")
    yield s
    s.close()


def make_engine(store: Store, bank, clock, **settings) -> QuizEngine:
    settings.setdefault("db_path", Path(store.db.execute("PRAGMA database_list").fetchone()[2]))
    return build_engine(store, bank, Settings(**settings), clock=clock, rng=random.Random(7))


@pytest.fixture
def engine(store, mini_bank, clock) -> QuizEngine:
    return make_engine(store, mini_bank, clock, reveal_after=3600)


@pytest.fixture
def place() -> Place:
    return Place("console", "local", "console")


def member(name: str, platform: str = "console") -> Member:
    return Member(platform, f"id-{name}", name)
