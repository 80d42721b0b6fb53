"""Shared fixtures: a fake clock, a real database per test, and an engine over a small bank.

The database is a SQLite file; a module marked `pytestmark = pytest.mark.backends("sqlite", "postgresql")` runs
each of its tests on both, the PostgreSQL one in a fresh database of a server the session starts itself
(tests/pg.py). Without a server to start, the PostgreSQL runs skip, saying why (STUDYBOT_REQUIRE_PG=1, as in
CI, makes that a failure).
"""

from __future__ import annotations

import compileall
import os
import random
import re
import shutil
import tempfile
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


BACKENDS = ("sqlite", "postgresql")
_PG_SHARED = pytest.StashKey[Path]()


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "backends(*names): run the module's store/engine tests on each database "
                            "(sqlite, postgresql)")
    config.addinivalue_line("markers", "long_wait: a test that mostly waits for many seconds; spread out over the "
                            "run so the waits overlap computing tests (pytest_collection_modifyitems)")
    if not hasattr(config, "workerinput"):  # once per run, in the controller before the xdist workers start
        # The suite starts about a hundred bot processes. Where PYTHONDONTWRITEBYTECODE is set (as on our CI
        # machines) each would compile every bot module again (~0.1 s); compiled once here, they all read it.
        for package in ("bot", "adapters", "tests"):
            compileall.compile_dir(REPO / package, quiet=1)
        _rewrite_test_modules(config)
        # One PostgreSQL server for the run, shared by the workers (each used to start its own: about 1 s of CPU
        # each, one after another under pgserver's lock). The last worker to finish stops it.
        if "STUDYBOT_TEST_PG_SHARED" not in os.environ:
            os.environ["STUDYBOT_TEST_PG_SHARED"] = tempfile.mkdtemp(prefix="sb-pg-run-")
            config.stash[_PG_SHARED] = Path(os.environ["STUDYBOT_TEST_PG_SHARED"])


def pytest_unconfigure(config) -> None:
    shared = config.stash.get(_PG_SHARED, None)
    if shared is not None:  # the controller, after every worker (and so the server) has stopped
        shutil.rmtree(shared, ignore_errors=True)
        os.environ.pop("STUDYBOT_TEST_PG_SHARED", None)


def _rewrite_test_modules(config) -> None:
    """Rewrite the test modules' asserts once, here, and cache them as pytest would. Where PYTHONDONTWRITEBYTECODE
    is set, pytest caches nothing, so each xdist worker would rewrite all of them (about 1.9 s of CPU each).
    pytest's own functions do the work; with another pytest whose internals differ, the workers do it as before."""
    try:
        from _pytest.assertion.rewrite import (
            PYC_TAIL,
            _read_pyc,
            _rewrite_test,
            _write_pyc,
            assertstate_key,
            get_cache_dir,
        )

        state = config.stash[assertstate_key]
        for module in sorted((REPO / "tests").rglob("*.py")):
            if not module.name.startswith("test_") and module.name != "conftest.py":
                continue  # helpers are imported plainly (their bytecode comes from compileall above)
            cache = get_cache_dir(module)
            cache.mkdir(exist_ok=True)
            pyc = cache / (module.name[:-3] + PYC_TAIL)
            if _read_pyc(module, pyc) is None:
                source_hash, code = _rewrite_test(module, config)
                _write_pyc(state, code, source_hash, pyc)
    except Exception:  # an optimisation only
        return


# A test module that starts processes (the bot, pip, the CLI) mostly waits on them.
_PROCESSES = re.compile(r"\bsubprocess\b|ConsoleProcess")


def pytest_collection_modifyitems(config, items) -> None:
    """Order the run for 5 workers on 2 cores, so that waiting tests overlap computing ones.

    pytest-xdist's load scheduling gives each worker a first batch of a quarter of its share of the tests, in
    collection order, then hands out the rest as workers free up. So:
    - modules that start processes come first, the in-process ones (Discord and Slack last) after: the run
      ends on many short tests that keep both cores busy, not on a console round waiting for its reveal;
    - tests marked long_wait (8-20 s, mostly waiting on real processes and clocks) are spread out: the first two
      (the Slack replicas tests, about 20 s each) start two workers' first batches, the others go a third of the
      way into what is handed out later. With all four at the start, one worker was left computing for ten
      seconds and the machine a third idle.
    Measured over runs on this machine: about 57 s in collection order, 50-55 s in this one (the machine's own
    speed varies by a tenth between runs)."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 0))
    if workers < 2:
        return
    waiting = [item for item in items if item.get_closest_marker("long_wait")]
    rest = [item for item in items if not item.get_closest_marker("long_wait")]
    modules: dict[Path, list] = {}
    for item in rest:
        modules.setdefault(Path(item.path), []).append(item)
    starting = [path for path in modules if _PROCESSES.search(path.read_text(encoding="utf-8"))]
    order = starting + [path for path in reversed(modules) if path not in starting]
    rest = [item for path in order for item in modules[path]]
    batch = max(2, len(items) // workers // 4)
    first = min(2, workers - 1)
    later = workers * batch + (len(rest) - workers * batch) // 3
    for k, item in enumerate(waiting):
        rest.insert(min(k * batch if k < first else later, len(rest)), item)
    items[:] = rest


def pytest_generate_tests(metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", marker.args or BACKENDS)


@pytest.fixture(scope="session")
def pg_server():
    from tests import pg

    try:
        shared = os.environ.get("STUDYBOT_TEST_PG_SHARED")
        server = pg.start(shared=Path(shared) if shared else None)
    except pg.Unavailable as error:
        if os.environ.get("STUDYBOT_REQUIRE_PG") == "1":
            pytest.fail(f"STUDYBOT_REQUIRE_PG=1 but {error}", pytrace=False)
        pytest.skip(str(error))
    server.tune(pg.TUNING_FOR_TESTS)
    yield server
    server.stop()


@pytest.fixture
def backend() -> str:
    """The database under test: "sqlite" unless the module is marked with `backends`."""
    return "sqlite"


def _database(backend: str, tmp_path: Path, request, migrated: bool):
    if backend == "sqlite":
        yield tmp_path / "studybot.db"
        return
    server = request.getfixturevalue("pg_server")
    if not migrated:
        name = server.create_database()
        yield server.url(name)
        server.drop_database(name)
        return
    name = server.migrated_database()
    yield server.url(name)
    server.give_back(name)


@pytest.fixture
def database(backend: str, tmp_path: Path, request):
    """What Store.open takes for this test: a new SQLite file in tmp_path, or the URL of a PostgreSQL database with
    the migrations applied and no rows (cloned from the server's migrated template, or an earlier test's database
    emptied: see tests/pg.py)."""
    yield from _database(backend, tmp_path, request, migrated=True)


@pytest.fixture
def empty_database(backend: str, tmp_path: Path, request):
    """As `database`, but an empty PostgreSQL database too: for the tests of the migrations themselves."""
    yield from _database(backend, tmp_path, request, migrated=False)


@pytest.fixture
def store(database):
    s = Store.open(database)
    yield s
    s.close()


# Where the PostgreSQL engines' files go (charts, decks): one directory per test process, removed at its exit.
_FILES = tempfile.TemporaryDirectory(prefix="studybot-files-")


def make_engine(store: Store, bank, clock, **settings) -> QuizEngine:
    if store.path is not None:
        settings.setdefault("db_path", store.path)
    else:  # PostgreSQL: db_path only places the charts directory
        settings.setdefault("db_url", store.db.url)
        settings.setdefault("db_path", Path(tempfile.mkdtemp(dir=_FILES.name)) / "studybot.db")
    return build_engine(store, bank, Settings(**settings), clock=clock, rng=random.Random(7))


@pytest.fixture
def engine(store, mini_bank, clock) -> QuizEngine:
    return make_engine(store, mini_bank, clock, reveal_after=3600)


@pytest.fixture
def place() -> Place:
    return Place("console", "local", "console")


def member(name: str, platform: str = "console") -> Member:
    return Member(platform, f"id-{name}", name)


# A good question suggestion's form fields (/quiz suggest), as a member fills them in on any platform.
GOOD_SUGGESTION = {
    "level": "basic", "topic": "Sampling", "question": "What does the temperature change when sampling tokens?",
    "choices": "How sharp the next-token distribution is\nThe size of the vocabulary\nThe context window",
    "correct": "1",
    "answer": "Temperature divides the logits before the softmax: below 1 it sharpens the distribution, above 1 "
              "it flattens it.",
    "key_points": "divides the logits\nlower is sharper and more deterministic\nhigher is flatter and more varied",
}
