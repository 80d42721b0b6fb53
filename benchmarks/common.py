"""Shared bits for the benchmarks: a fresh engine on a temporary SQLite file, and how to print results."""

from __future__ import annotations

import platform
import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.engine import QuizEngine
from bot.questions import load_bank
from bot.runtime import build_engine
from bot.store import Store

REPO = Path(__file__).resolve().parent.parent


def fresh_engine(directory: Path | None = None, **settings) -> QuizEngine:
    directory = directory or Path(tempfile.mkdtemp(prefix="studybot-bench-"))
    db = directory / "bench.db"
    return build_engine(Store.open(db), load_bank(REPO / "questions.yaml"), Settings(db_path=db, **settings),
                        clock=lambda: datetime.now(UTC), rng=random.Random(1))


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"
