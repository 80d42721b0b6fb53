"""Shared bits for the benchmarks: a fresh engine on a temporary SQLite file, and how to print results."""

from __future__ import annotations

import atexit
import platform
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.engine import QuizEngine
from bot.events import ChoiceMade
from bot.models import Member, Place
from bot.questions import load_bank
from bot.runtime import build_engine
from bot.store import Store

REPO = Path(__file__).resolve().parent.parent


def scratch(prefix: str = "studybot-bench-") -> Path:
    """A new temporary directory, removed when the benchmark's process ends."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


def fresh_engine(directory: Path | None = None, **settings) -> QuizEngine:
    directory = directory or scratch()
    db = directory / "bench.db"
    return build_engine(Store.open(db), load_bank(REPO / "questions.yaml"), Settings(db_path=db, **settings),
                        clock=lambda: datetime.now(UTC), rng=random.Random(1))


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def ingest_rate(engine: QuizEngine, rounds: list[int], answers: int) -> float:
    """Answers per second: `answers` one-click answers spread over `rounds`, each through the engine."""
    events = [ChoiceMade(Member("slack", f"U{i}", f"member {i}"), i % 4 + 1, round_id=rounds[i % len(rounds)])
              for i in range(answers)]
    started = time.perf_counter()
    for event in events:
        engine.handle(event)
    elapsed = time.perf_counter() - started
    stored = engine.store.row("SELECT COUNT(*) AS n FROM answers")["n"]
    assert stored == answers, stored
    return answers / elapsed


def median_board_seconds(engine: QuizEngine, place: Place) -> float:
    """The median time of one leaderboard (this week's and the all-time one, each with a member's own line)."""
    samples = []
    for i in range(30):
        started = time.perf_counter()
        engine.boards.board(place, "week", f"U{i * 3001}")
        engine.boards.board(place, "all", f"U{i * 3001}")
        samples.append((time.perf_counter() - started) / 2)
    return statistics.median(samples)

