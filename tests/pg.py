"""A throwaway PostgreSQL server for the tests and the benchmarks, started by them, on this machine only.

Tried in order:
1. STUDYBOT_TEST_PG_URL: a server someone already runs (an admin URL; databases are made and dropped in it);
2. PyPI's `pgserver` (a dev dependency): PostgreSQL's binaries inside its wheel, a Unix socket in the data dir;
3. Debian's `postgresql` package (`apt-get install postgresql`): initdb and pg_ctl on a temporary directory,
   listening on 127.0.0.1 and a free port, run as the `postgres` user when we are root.

`start()` raises Unavailable, with the reasons, when none works: the PostgreSQL tests then skip (or fail, with
STUDYBOT_REQUIRE_PG=1, as CI sets it).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

TUNING_FOR_TESTS = {  # throwaway data: durability buys nothing, and every test makes a database
    "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
    # no statistics gathered behind the tests' backs: the planner sees every test database as new (a reused one,
    # see Server.give_back, included), so a query plan does not depend on which tests ran before
    "autovacuum": "off",
}


class Unavailable(Exception):
    """No PostgreSQL server could be started; the message says what was tried."""


class Server:
    """One running server: URLs to its databases, fresh databases, and how to stop it."""

    def __init__(self, url_for, stop, bin_dir: Path | None, how: str) -> None:
        self._url_for = url_for
        self._stop = stop
        self.bin_dir = bin_dir  # pg_dump and friends of the server's own version, when known
        self.how = how
        self._names = itertools.count(1)
        self._template: str | None = None
        self._template_layout: tuple[tuple[str, ...], int] = ((), 0)
        self._emptied: list[str] = []  # migrated databases a test gave back, emptied, for the next test

    def url(self, dbname: str = "postgres") -> str:
        return self._url_for(dbname)

    def admin(self):
        import psycopg

        return psycopg.connect(self.url("postgres"), autocommit=True)

    def tune(self, settings: dict[str, str]) -> None:
        with self.admin() as conn:
            for name, value in settings.items():
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            conn.execute("SELECT pg_reload_conf()")

    def create_database(self, prefix: str = "studybot_test", template: str = "template0") -> str:
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def migrated_template(self) -> str:
        """A database with every migration applied, made once per server. Cloning it for a test (CREATE DATABASE
        ... TEMPLATE) costs about 0.1 s less than a fresh database that Store.open then migrates."""
        if self._template is None:
            import psycopg

            from bot.store import Store

            name = self.create_database("studybot_template")
            Store.open(self.url(name)).close()
            with psycopg.connect(self.url(name)) as conn:
                self._template_layout = self._layout(conn)
            self._template = name
        return self._template

    def migrated_database(self) -> str:
        """A database in the state the migrations leave it: every table there and empty. A database an earlier test
        gave back (give_back) when there is one, else a clone of the migrated template."""
        if self._emptied:
            return self._emptied.pop()
        return self.create_database(template=self.migrated_template())

    def give_back(self, name: str) -> None:
        """The test is done with a migrated_database: its tables are truncated and its sequences restarted, so the
        next test gets it as new: empty files, rows back in insertion order, no planner statistics (about 25 ms,
        where cloning the template costs about 95 ms of the server's CPU). A database whose tables or applied
        migrations are no longer the template's, or that someone ANALYZEd, is dropped instead."""
        try:
            self._empty(name)
        except Exception:
            self.drop_database(name)
            raise
        self._emptied.append(name)

    def _empty(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(name), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            layout = self._layout(conn)
            if layout != self._template_layout:
                raise RuntimeError(f"database {name} no longer has the template's tables or migrations: {layout}")
            [(analyzed,)] = conn.execute("SELECT COUNT(*) FROM pg_stats WHERE schemaname = 'public'").fetchall()
            if analyzed:
                raise RuntimeError(f"database {name} has planner statistics (ANALYZE ran): it would plan differently")
            tables = [t for t in layout[0] if t != "schema_migrations"]
            # RESTART IDENTITY: the id sequences (all owned by these tables' serial columns) start over too
            conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY")

    @staticmethod
    def _layout(conn) -> tuple[tuple[str, ...], int]:
        """The public tables and the number of applied migrations: what a test must leave as it found them."""
        tables = tuple(sorted(r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
        [(applied,)] = conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchall()
        return tables, applied

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        self._stop()


def start(base: Path | None = None, shared: Path | None = None) -> Server:
    """shared: a directory where the processes of one test run share one pgserver server (the last one to stop it
    stops the server and deletes its data); without it, each start makes its own."""
    reasons = []
    url = os.environ.get("STUDYBOT_TEST_PG_URL", "").strip()
    if url:
        return _external(url)
    attempts = (("pgserver", lambda: _pgserver(base, shared)), ("debian", lambda: _debian(base)))
    for name, attempt in attempts:
        try:
            return attempt()
        except Unavailable as error:
            reasons.append(str(error))
        except Exception as error:
            reasons.append(f"{name}: {type(error).__name__}: {error}")
    raise Unavailable("no PostgreSQL server could be started: " + "; ".join(reasons))


def _external(url: str) -> Server:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts = conninfo_to_dict(url)

    def url_for(dbname: str) -> str:
        return make_conninfo(**{**parts, "dbname": dbname})

    return Server(url_for, lambda: None, None, "STUDYBOT_TEST_PG_URL")


def _pgserver(base: Path | None, shared: Path | None = None) -> Server:
    try:
        import pgserver
    except ImportError:
        raise Unavailable("pgserver: not installed (pip install pgserver)") from None
    # pgserver counts the processes that use a data directory, under a lock: the first starts the server
    data = shared / "pgdata" if shared is not None else Path(tempfile.mkdtemp(prefix="sb-pg-", dir=base))
    server = pgserver.get_server(data, cleanup_mode="delete")
    uri = server.get_uri()  # postgresql://postgres:@/postgres?host=<socket dir>
    prefix, _, query = uri.partition("?")
    root = prefix.rsplit("/", 1)[0]

    def url_for(dbname: str) -> str:
        return f"{root}/{dbname}?{query}"

    from pgserver._commands import POSTGRES_BIN_PATH

    return Server(url_for, server.cleanup, Path(POSTGRES_BIN_PATH), "pgserver")


def _debian(base: Path | None) -> Server:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    found = shutil.which("initdb")
    bin_dir = Path(candidates[0]).parent if candidates else Path(found).parent if found else None
    if bin_dir is None:
        raise Unavailable("debian: no initdb (apt-get install postgresql)")
    data = Path(tempfile.mkdtemp(prefix="sb-pgd-", dir=base))
    run_as: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise Unavailable("debian: running as root and there is no postgres user to run the server as") from None
        os.chown(data, user.pw_uid, user.pw_gid)  # (its parent must let postgres through: /tmp by default)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True, text=True, timeout=120)
    subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-l", str(data / "log"), "-w",
                    "-o", f"-h 127.0.0.1 -p {port} -k {data}", "start"],
                   check=True, capture_output=True, text=True, timeout=120)

    def stop() -> None:
        subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(data, ignore_errors=True)

    def url_for(dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{dbname}"

    return Server(url_for, stop, bin_dir, "debian")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
