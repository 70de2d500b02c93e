"""The PostgreSQL backend: an asyncpg pool behind :class:`~v2g.storage.database.Database`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from v2g.storage.database import Database, Executor, Row
from v2g.storage.errors import DatabaseUnavailableError, QueryError
from v2g.storage.url import DatabaseUrl, Dialect

_UNAVAILABLE = (OSError, asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.InterfaceError)


def _query_error(sql: str, exc: Exception) -> QueryError:
    return QueryError(sql, f"{type(exc).__name__}: {exc}")


def _aware(sql: str, args: Sequence[Any]) -> None:
    """asyncpg would take a naive datetime as UTC; refuse it as SQLite does."""
    for value in args:
        if isinstance(value, datetime) and value.tzinfo is None:
            raise QueryError(sql, f"naive datetime {value!r}: times must be timezone-aware")


class _Statements:
    """Statements on a pool or a connection (both have the same asyncpg methods)."""

    def __init__(self, target: Any, url: DatabaseUrl) -> None:
        self._target = target
        self._url = url

    async def _call(self, method: str, sql: str, *args: Any) -> Any:
        _aware(sql, args)
        try:
            return await getattr(self._target, method)(sql, *args)
        except _UNAVAILABLE as exc:
            raise DatabaseUnavailableError(self._url.display, str(exc)) from exc
        except (asyncpg.PostgresError, TypeError, ValueError) as exc:
            raise _query_error(sql, exc) from exc

    async def execute(self, sql: str, *args: Any) -> None:
        """Run one statement."""
        await self._call("execute", sql, *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row."""
        rows = list(rows)
        for row in rows:
            _aware(sql, row)
        await self._call("executemany", sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Every row of a query."""
        return [dict(r) for r in await self._call("fetch", sql, *args)]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """The first row, or None."""
        row = await self._call("fetchrow", sql, *args)
        return None if row is None else dict(row)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row."""
        return await self._call("fetchval", sql, *args)

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """COPY ``rows`` into ``table``."""
        if not rows:
            return
        for row in rows:
            _aware(f"COPY {table}", row)
        try:
            await self._target.copy_records_to_table(
                table, records=[tuple(r) for r in rows], columns=list(columns)
            )
        except _UNAVAILABLE as exc:
            raise DatabaseUnavailableError(self._url.display, str(exc)) from exc
        except (asyncpg.PostgresError, TypeError, ValueError) as exc:
            raise _query_error(f"COPY {table}", exc) from exc


class PostgresDatabase(_Statements):
    """A pool of asyncpg connections."""

    def __init__(self, pool: asyncpg.Pool, url: DatabaseUrl) -> None:
        super().__init__(pool, url)
        self._pool = pool

    @property
    def dialect(self) -> Dialect:
        """PostgreSQL."""
        return Dialect.POSTGRESQL

    @property
    def url(self) -> DatabaseUrl:
        """Where it is."""
        return self._url

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """COPY ``rows`` into ``table`` on a pooled connection."""
        async with self.transaction() as tx:
            await tx.copy(table, columns, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        """One pooled connection in a transaction."""
        try:
            connection = await self._pool.acquire()
        except _UNAVAILABLE as exc:
            raise DatabaseUnavailableError(self._url.display, str(exc)) from exc
        try:
            async with connection.transaction():
                yield _Statements(connection, self._url)
        finally:
            await self._pool.release(connection)

    async def close(self) -> None:
        """Close the pool."""
        await self._pool.close()


@asynccontextmanager
async def connect_postgres(
    url: DatabaseUrl,
    *,
    min_size: int = 1,
    max_size: int = 10,
    connect_timeout_s: float = 10.0,
    command_timeout_s: float = 60.0,
) -> AsyncIterator[Database]:
    """Open a pool on ``url``; close it on exit."""
    try:
        pool = await asyncpg.create_pool(
            dsn=url.url,
            min_size=min_size,
            max_size=max_size,
            timeout=connect_timeout_s,
            command_timeout=command_timeout_s,
        )
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        raise DatabaseUnavailableError(url.display, f"{type(exc).__name__}: {exc}") from exc
    db = PostgresDatabase(pool, url)
    try:
        yield db
    finally:
        await db.close()
