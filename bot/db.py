"""One thin connection layer over SQLite (sqlite3) and PostgreSQL (psycopg 3 with its pool).

The store writes each query once, with `?` placeholders, in the SQL both databases share. This layer
runs it on either: `execute`, `rows`, `row` and `transaction` behave the same on both, rows come back
as dicts on both, and a statement outside `transaction()` commits on its own (autocommit).

Only DDL differs between the two (identity columns, float width, text collation): `ddl()` turns the
SQLite form of a CREATE or ALTER statement into PostgreSQL's, so a migration is written once.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # psycopg is imported only when a PostgreSQL database is used
    import psycopg

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

Row = dict[str, Any]  # a row, by column name, as both backends return it


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.strip().lower().startswith(POSTGRES_SCHEMES)


class Result:
    """A statement's outcome, read in full: its rows (dicts) and how many rows it changed or returned."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rowcount: int, rows: list[Row]) -> None:
        self.rowcount = rowcount
        self._rows = rows

    def fetchone(self) -> Row | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Row]:
        return self._rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)


class Database:
    """What the store needs from a database; `connect` picks the backend from the target."""

    backend: str
    IntegrityError: type[Exception]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        raise NotImplementedError

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.execute(sql, params).fetchall()

    def row(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return self.execute(sql, params).fetchone()

    def transaction(self) -> AbstractContextManager[Database]:  # nested ones are savepoints
        raise NotImplementedError

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many rows (a reveal's scores): one round trip where the driver allows."""
        for params in rows:
            self.execute(sql, params)

    def stream(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
        """Column names and an iterator over the rows as tuples, without holding them all in memory."""
        raise NotImplementedError

    def lock_for_migrations(self) -> None:
        """Inside a transaction: wait until no other process is migrating this database."""

    def close(self) -> None:
        raise NotImplementedError


def connect(target: Path | str, *, timeout: float = 10.0) -> Database:
    """A SQLite file path, or a postgresql:// URL."""
    if is_postgres_url(target):
        return PostgresDatabase(str(target).strip(), timeout=timeout)
    return SqliteDatabase(Path(target), timeout=timeout)


# ---- SQLite ------------------------------------------------------------------------------------


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


class SqliteDatabase(Database):
    backend = "sqlite"
    IntegrityError = sqlite3.IntegrityError

    def __init__(self, path: Path, *, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout
        # One connection per thread: a worker thread (a reveal's writes, off the event loop) gets its own,
        # with this constructor's timeout; the creating thread's busy timeout may be changed by PRAGMA later.
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        self._savepoints = itertools.count(1)
        self._local.conn = self._open()

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: sqlite3 opens no implicit transaction; a statement outside `transaction()`
        # commits by itself, and `transaction()` says BEGIN IMMEDIATE / SAVEPOINT explicitly.
        # check_same_thread=False only so that close() may close every thread's connection; each is used by
        # the one thread that opened it.
        conn = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.row_factory = _dict_row
        conn.execute("PRAGMA foreign_keys=ON")
        # In WAL mode NORMAL survives a killed process; only a power cut can lose the last commit.
        conn.execute("PRAGMA synchronous=NORMAL")
        with self._opened_lock:
            self._opened.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        return conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        cursor = self.conn.execute(sql, params)
        rows = cursor.fetchall() if cursor.description else []
        return Result(cursor.rowcount if cursor.rowcount >= 0 else len(rows), rows)

    @contextmanager
    def transaction(self) -> Iterator[SqliteDatabase]:
        if self.conn.in_transaction:
            name = f"sp{next(self._savepoints)}"
            self.conn.execute(f"SAVEPOINT {name}")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:  # an error may have ended the whole transaction already
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    self.conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            self.conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        # IMMEDIATE: take the write lock now, waiting out the busy timeout, rather than fail at once with
        # "database is locked" when a read inside the transaction turns into a write.
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def stream(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
        cursor = self.conn.cursor()
        cursor.row_factory = None  # tuples
        cursor.execute(sql, params)
        return [d[0] for d in cursor.description], iter(cursor)

    def close(self) -> None:
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()


# ---- PostgreSQL --------------------------------------------------------------------------------

# pg_advisory_xact_lock key for migrations: any fixed 64-bit number other programs sharing the database
# will not use; this one spells "studybot" in ASCII.
MIGRATION_LOCK = int.from_bytes(b"studybot", "big") & 0x7FFF_FFFF_FFFF_FFFF


@lru_cache(maxsize=4096)
def to_pyformat(sql: str) -> str:
    """`?` placeholders (outside quoted text) become psycopg's `%s`; a literal `%` becomes `%%`."""
    out: list[str] = []
    quote = ""
    for ch in sql:
        if ch == "%":
            out.append("%%")  # psycopg reads % everywhere in the query, quoted text included
        elif quote:
            out.append(ch)
            if ch == quote:
                quote = ""
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


def _pg_params(params: Iterable[Any]) -> tuple[Any, ...]:
    # PostgreSQL text cannot hold NUL; SQLite can. A member's text with one would fail the whole event.
    return tuple(p.replace("\x00", "\ufffd") if isinstance(p, str) and "\x00" in p else p for p in params)


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def url_password(url: str) -> str | None:
    from psycopg.conninfo import conninfo_to_dict

    try:
        password = conninfo_to_dict(url).get("password")
    except Exception:
        return None
    return str(password) if password else None


class PostgresDatabase(Database):
    backend = "postgresql"

    def __init__(self, url: str, *, timeout: float = 10.0, min_size: int = 1, max_size: int = 4) -> None:
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self.IntegrityError = psycopg.IntegrityError
        self.url = url
        # Connect once directly first: a wrong host or password fails here with the server's own words,
        # not as a pool timeout.
        psycopg.connect(url, connect_timeout=max(1, int(timeout))).close()
        # Autocommit: a statement outside `transaction()` is one round trip; `transaction()` says BEGIN.
        self.pool: ConnectionPool[psycopg.Connection[Row]] = ConnectionPool(
            url, min_size=min_size, max_size=max_size, open=True, timeout=timeout, name="studybot",
            kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": max(1, int(timeout))},
        )
        self.pool.wait(timeout=timeout)
        self._local = threading.local()  # the connection of this thread's open transaction, if any

    def _conn(self) -> psycopg.Connection[Row] | None:
        return getattr(self._local, "conn", None)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        query, args = to_pyformat(sql), _pg_params(params)
        conn = self._conn()
        if conn is not None:
            return _result(conn.execute(query, args))
        with self.pool.connection() as conn:
            return _result(conn.execute(query, args))

    @contextmanager
    def transaction(self) -> Iterator[PostgresDatabase]:
        conn = self._conn()
        if conn is not None:
            with conn.transaction():  # a savepoint
                yield self
            return
        with self.pool.connection() as conn:
            self._local.conn = conn
            try:
                with conn.transaction():
                    yield self
            finally:
                self._local.conn = None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        query, args = to_pyformat(sql), [_pg_params(params) for params in rows]
        conn = self._conn()
        if conn is not None:
            conn.cursor().executemany(query, args)
            return
        with self.pool.connection() as conn:
            conn.cursor().executemany(query, args)

    def stream(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
        """A server-side cursor in its own transaction: rows arrive in batches, the snapshot stays consistent."""
        import psycopg

        conn = psycopg.connect(self.url)
        cursor = conn.cursor(name="studybot_stream")
        cursor.itersize = 2000
        cursor.execute(to_pyformat(sql), _pg_params(params))
        assert cursor.description is not None, "stream() runs a query that returns rows"
        names = [d.name for d in cursor.description]

        def rows() -> Iterator[tuple[Any, ...]]:
            try:
                yield from cursor
            finally:
                cursor.close()
                conn.rollback()
                conn.close()

        return names, rows()

    def lock_for_migrations(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))

    def close(self) -> None:
        self.pool.close()


def _result(cursor: psycopg.Cursor[Row]) -> Result:
    rows = cursor.fetchall() if cursor.description else []
    return Result(cursor.rowcount if cursor.rowcount >= 0 else len(rows), rows)


# ---- DDL -----------------------------------------------------------------------------------------

_PG_DDL = [
    # A rowid alias: never reused (AUTOINCREMENT), or at least unique; either way an identity column.
    (re.compile(r"\bINTEGER PRIMARY KEY(?: AUTOINCREMENT)?", re.I), "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\b(\w+_id) INTEGER\b"), r"\1 BIGINT"),  # a reference to an identity column
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),  # SQLite's REAL is 8 bytes; PostgreSQL's is 4
    # Text compares by code point in SQLite; "C" gives PostgreSQL the same order whatever the server's locale
    # (ORDER BY name, the ISO timestamps' comparisons), and plain byte comparisons in the indexes.
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
]


def ddl(backend: str, statement: str) -> str:
    """A CREATE/ALTER statement written for SQLite, as the given backend takes it."""
    if backend != "postgresql":
        return statement
    for pattern, replacement in _PG_DDL:
        statement = pattern.sub(replacement, statement)
    return statement
