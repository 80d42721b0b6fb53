"""Replicas: answers ingested by 3 `studybot` processes on one database together, vs 1 process alone.

Each process is what a replica runs for an answer: Store.open(database) -> build_engine ->
engine.handle(ChoiceMade), every answer its own transaction, committed before it is acknowledged. The
processes start together and run for DURATION seconds, each with members of its own (as a load balancer
spreads a channel's members over the replicas), into the same 25 open rounds.

On PostgreSQL (a throwaway server started as the tests start it, tests/pg.py, with the server's default
durability: fsync and synchronous_commit on) the target is: 3 replicas >= 2x one replica's rate. Then once more
with each replica process in a cgroup limited to REPLICA_CPUS cores (needs root and writable cgroups). Every
answer waits for its commit's fsync, so how far that can go depends on the disk: the same server is
measured with bare psycopg clients too (an INSERT in autocommit, 1 and 3 processes), the ceiling any
number of replicas can reach there. The same run on one SQLite file (WAL) shows one writer at a time.
Interleaved repeats; the medians are compared.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from common import REPO, machine, scratch, verdict

sys.path.insert(0, str(REPO))

from bot.config import Settings
from bot.events import ChoiceMade
from bot.models import Member, Place
from bot.questions import load_bank
from bot.runtime import build_engine
from bot.store import Store

DURATION = 8.0  # seconds each run ingests
# Replicas normally run on machines or containers of their own. On one small machine, unlimited replica processes
# share its cores with the server, and the run measures the machine (its ceiling: the bare clients' ratio). So each
# replica is also measured as a container with a CPU limit: a quarter core each, so that three (0.75 core) leave
# the server and the driver the rest; at 0.4 core each the 2-core machine itself runs out first.
REPLICA_CPUS = 0.25
REPEATS = 3
ROUNDS = 25
PLACE = Place("slack", "T1", "C1")
BANK = load_bank(REPO / "questions.yaml")


def engine_on(database: str):
    charts = scratch("studybot-bench-") / "unused.db"
    url = database if database.startswith("postgresql://") else None
    settings = Settings(db_url=url, db_path=charts if url else Path(database), reveal_after=86400)
    return build_engine(Store.open(database), BANK, settings, clock=lambda: datetime.now(UTC),
                        rng=random.Random(1))


def bare_worker(url: str, name: str, start_at: float, duration: float) -> None:
    """A client with nothing of studybot: INSERT one answer row, autocommit, as fast as it can."""
    import psycopg

    rows = [r[0] for r in psycopg.connect(url).execute("SELECT id FROM rounds").fetchall()]
    conn = psycopg.connect(url, autocommit=True)
    time.sleep(max(0.0, start_at - time.time()))
    done, deadline = 0, start_at + duration
    while time.time() < deadline:
        conn.execute("INSERT INTO answers (round_id, platform, workspace, user_id, name, choice, answered_at) "
                     "VALUES (%s, 'slack', 'T1', %s, %s, 1, '2026-12-01T00:00:00.000000+00:00')",
                     (rows[done % len(rows)], f"{name}-{done}", name))
        done += 1
    print(done)


def worker(database: str, name: str, start_at: float, duration: float) -> None:
    """One replica: answers as fast as it can from start_at for `duration` seconds; prints how many it stored."""
    engine = engine_on(database)
    rounds = [r.id for r in engine.store.open_channel_rounds()]
    time.sleep(max(0.0, start_at - time.time()))
    done, deadline = 0, start_at + duration
    while time.time() < deadline:
        member = Member("slack", f"{name}-{done}", f"member {name}-{done}")
        out = engine.handle(ChoiceMade(member, done % 4 + 1, round_id=rounds[done % len(rounds)]))
        assert out, "the engine acknowledges every answer"
        done += 1
    print(done)


def prepare(database: str) -> None:
    engine = engine_on(database)
    for _ in range(ROUNDS):
        engine.rounds.post_round(PLACE, None)
    engine.store.close()


def cpu_limit(pid: int, cpus: float, name: str) -> None:
    """Put a process in a cgroup of its own limited to `cpus` cores, as `docker run --cpus` does (cgroup v2, or
    v1's cpu controller). Needs root and a writable /sys/fs/cgroup."""
    period = 100_000
    quota = int(cpus * period)
    v2 = Path("/sys/fs/cgroup/cgroup.controllers")
    group = Path("/sys/fs/cgroup") / name if v2.exists() else Path("/sys/fs/cgroup/cpu") / name
    group.mkdir(exist_ok=True)
    if v2.exists():
        (group / "cpu.max").write_text(f"{quota} {period}")
    else:
        (group / "cpu.cfs_period_us").write_text(str(period))
        (group / "cpu.cfs_quota_us").write_text(str(quota))
    (group / "cgroup.procs").write_text(str(pid))


def run(database: str, replicas: int, tag: str, mode: str = "--worker", cpus: float | None = None) -> float:
    """Answers per second of `replicas` processes together (each limited to `cpus` cores when given)."""
    start_at = time.time() + 3.0  # every process imported and connected by then
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'benchmarks'}"}
    procs = [subprocess.Popen([sys.executable, __file__, mode, database, f"{tag}r{n}", str(start_at),
                               str(DURATION)], stdout=subprocess.PIPE, text=True, env=env) for n in range(replicas)]
    if cpus is not None:
        for n, proc in enumerate(procs):
            cpu_limit(proc.pid, cpus, f"studybot-bench-replica{n}")
    counts = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        counts.append(int(out.strip().splitlines()[-1]))
    return sum(counts) / DURATION


def compare(database: str, label: str, mode: str = "--worker", prepared: bool = False,
            cpus: float | None = None) -> tuple[float, float]:
    if not prepared:
        prepare(database)
    one, three = [], []
    for repeat in range(REPEATS):  # interleaved: the disk's fsync time drifts
        one.append(run(database, 1, f"{mode[2]}a{repeat}{cpus or ''}", mode, cpus))
        three.append(run(database, 3, f"{mode[2]}b{repeat}{cpus or ''}", mode, cpus))
    one_rate, three_rate = statistics.median(one), statistics.median(three)
    print(f"{label}: 1 replica {one_rate:,.0f} answers/s, 3 replicas {three_rate:,.0f} answers/s "
          f"(x{three_rate / one_rate:.2f}); runs: 1 = {[round(x) for x in one]}, 3 = {[round(x) for x in three]}")
    return one_rate, three_rate


def main() -> int:
    from tests import pg

    print("machine:", machine())
    server = pg.start()
    try:
        name = server.create_database("studybot_bench")
        try:
            one, three = compare(server.url(name), f"PostgreSQL ({server.how}), studybot replicas")
            bare_one, bare_three = compare(server.url(name), "PostgreSQL, bare psycopg clients (the disk's ceiling)",
                                           "--bare", prepared=True)
            limited = None
            try:  # replicas as containers with a CPU limit each (docker run --cpus), when cgroups allow it
                limited = compare(server.url(name), f"PostgreSQL, studybot replicas limited to {REPLICA_CPUS} core "
                                  "each", prepared=True, cpus=REPLICA_CPUS)
            except OSError as error:
                print(f"(no CPU-limited run: cgroups not writable here: {error})")
        finally:
            server.drop_database(name)
    finally:
        server.stop()
    sqlite_file = str(scratch("studybot-bench-") / "replicas.db")
    compare(sqlite_file, "SQLite, one file in WAL mode (for comparison: one writer at a time)")
    ok = three >= 2 * one
    print(f"PostgreSQL: 3 replicas / 1 replica = {three / one:.2f} (target >= 2): {verdict(ok)}; "
          f"3 bare clients / 1 on this server: {bare_three / bare_one:.2f}")
    if limited is not None:
        print(f"PostgreSQL, each replica limited to {REPLICA_CPUS} core: 3 replicas / 1 replica = "
              f"{limited[1] / limited[0]:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("--worker", "--bare"):
        (worker if sys.argv[1] == "--worker" else bare_worker)(sys.argv[2], sys.argv[3], float(sys.argv[4]),
                                                                float(sys.argv[5]))
    else:
        sys.exit(main())
