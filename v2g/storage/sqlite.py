"""The embedded backend: one SQLite connection (aiosqlite) behind the ``Database`` API.

* Placeholders ``$n`` are rewritten to SQLite's numbered ``?n``.
* Datetimes are written as fixed-width UTC ISO-8601 text (so text order is time order) and
  read back as aware datetimes; booleans are 0/1 and read back as ``bool``; ``JSONB`` columns
  are read back as text. The declared column types drive the read conversion.
* WAL journal, ``synchronous=NORMAL``: a committed transaction survives the process being
  killed (it may not survive a power cut); foreign keys are enforced.
* Statements are serialised by one lock; a transaction holds it from ``BEGIN IMMEDIATE`` to
  ``COMMIT``, so nothing else interleaves.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import aiosqlite

from v2g.storage.database import Database, Executor, Row
from v2g.storage.errors import DatabaseUnavailableError, QueryError
from v2g.storage.url import DatabaseUrl, Dialect

_PLACEHOLDER = re.compile(r"\$(\d+)")
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"


def to_text(value: datetime) -> str:
    """A datetime as fixed-width UTC text; naive datetimes are refused."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: times must be timezone-aware")
    return value.astimezone(UTC).strftime(_TS_FORMAT)


def _param(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_text(value)
    return value


def _params(args: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(_param(v) for v in args)


def _timestamp(raw: bytes) -> datetime:
    return datetime.fromisoformat(raw.decode()).astimezone(UTC)


def _register_converters() -> None:
    # keyed by declared column type; harmless for any other sqlite3 user in the process
    sqlite3.register_converter("TIMESTAMPTZ", _timestamp)
    sqlite3.register_converter("BOOLEAN", lambda raw: raw not in {b"0", b""})
    sqlite3.register_converter("JSONB", bytes.decode)


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """PostgreSQL placeholders ``$n`` as SQLite's ``?n``."""
    return _PLACEHOLDER.sub(r"?\1", sql)


class _Statements:
    """Statements on the one connection; the caller holds the lock."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def _run(self, sql: str, args: Sequence[Any]) -> list[sqlite3.Row]:
        try:
            async with self._connection.execute(translate(sql), _params(args)) as cursor:
                return list(await cursor.fetchall())
        except (sqlite3.Error, ValueError, TypeError) as exc:
            raise QueryError(sql, f"{type(exc).__name__}: {exc}") from exc

    async def execute(self, sql: str, *args: Any) -> None:
        """Run one statement."""
        await self._run(sql, args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row."""
        try:
            await self._connection.executemany(translate(sql), [_params(r) for r in rows])
        except (sqlite3.Error, ValueError, TypeError) as exc:
            raise QueryError(sql, f"{type(exc).__name__}: {exc}") from exc

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Every row of a query."""
        return [dict(r) for r in await self._run(sql, args)]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """The first row, or None."""
        rows = await self._run(sql, args)
        return dict(rows[0]) if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row."""
        rows = await self._run(sql, args)
        return rows[0][0] if rows else None

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` with one prepared statement."""
        if rows:
            marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
            await self.executemany(sql, rows)


class _Locked:
    """Each statement outside a transaction takes the lock and commits on its own."""

    def __init__(self, statements: _Statements, lock: asyncio.Lock) -> None:
        self._statements = statements
        self._lock = lock

    async def execute(self, sql: str, *args: Any) -> None:
        async with self._lock:
            await self._statements.execute(sql, *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self._lock:
            await self._statements.executemany(sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._lock:
            return await self._statements.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._lock:
            return await self._statements.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self._lock:
            return await self._statements.fetchval(sql, *args)

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        async with self.transaction() as tx:
            await tx.copy(table, columns, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error), holding the lock."""
        async with self._lock:
            await self._statements.execute("BEGIN IMMEDIATE")
            try:
                yield self._statements
            except BaseException:
                await self._statements.execute("ROLLBACK")
                raise
            await self._statements.execute("COMMIT")


class SqliteDatabase(_Locked):
    """The embedded database."""

    def __init__(self, connection: aiosqlite.Connection, url: DatabaseUrl) -> None:
        super().__init__(_Statements(connection), asyncio.Lock())
        self._connection = connection
        self._url = url

    @property
    def dialect(self) -> Dialect:
        """SQLite."""
        return Dialect.SQLITE

    @property
    def url(self) -> DatabaseUrl:
        """Where it is."""
        return self._url

    async def close(self) -> None:
        """Close the connection (and its thread)."""
        await self._connection.close()


@asynccontextmanager
async def connect_sqlite(
    url: DatabaseUrl, *, busy_timeout_ms: int = 5000
) -> AsyncIterator[Database]:
    """Open (creating it if needed) the SQLite file of ``url``; close it on exit."""
    assert url.path is not None  # noqa: S101 (DatabaseUrl.parse guarantees it)
    _register_converters()
    if url.path != ":memory:":
        Path(url.path).parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = await aiosqlite.connect(
            url.path, detect_types=sqlite3.PARSE_DECLTYPES, isolation_level=None
        )
    except (sqlite3.Error, OSError) as exc:
        raise DatabaseUnavailableError(url.display, f"{type(exc).__name__}: {exc}") from exc
    connection.row_factory = sqlite3.Row
    db = SqliteDatabase(connection, url)
    try:
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={int(busy_timeout_ms)}",
        ):
            await db.execute(pragma)
        yield db
    finally:
        await db.close()
