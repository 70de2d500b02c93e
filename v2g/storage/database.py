"""The one database API the repositories use, on PostgreSQL (asyncpg) and SQLite.

Statements are written once, in PostgreSQL's dialect with ``$1, $2, ...`` placeholders; the
SQLite backend rewrites the placeholders (``?1, ?2, ...``) and converts values at the edge
(datetimes as fixed-width UTC ISO text, booleans, JSON text). Rows come back as dicts with
the same Python types on both: ``TIMESTAMPTZ`` -> aware ``datetime``, ``BOOLEAN`` -> ``bool``,
``JSONB`` -> ``str`` (the JSON text; repositories decode it).

``async with open_database(url) as db:`` connects (a pool on PostgreSQL, one connection on
SQLite) and closes on exit. ``async with db.transaction() as tx:`` runs statements atomically.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from v2g.storage.url import DatabaseUrl, Dialect

Row = dict[str, Any]


class Executor(Protocol):
    """Statements, inside or outside a transaction."""

    async def execute(self, sql: str, *args: Any) -> None:
        """Run one statement."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row of arguments."""
        ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Every row of a query."""
        ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """The first row of a query, or None."""
        ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row, or None."""
        ...

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert many rows fast (PostgreSQL COPY; SQLite a prepared insert)."""
        ...


class Database(Executor, Protocol):
    """A connected database."""

    @property
    def dialect(self) -> Dialect:
        """Which SQL dialect this is."""
        ...

    @property
    def url(self) -> DatabaseUrl:
        """Where it is."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """A transaction: committed when the block exits normally, else rolled back."""
        ...

    async def close(self) -> None:
        """Release every connection."""
        ...


def open_database(url: str | None, **options: Any) -> AbstractAsyncContextManager[Database]:
    """Connect to ``url`` (None: the default embedded SQLite file); close on exit."""
    parsed = DatabaseUrl.parse(url)
    if parsed.dialect is Dialect.POSTGRESQL:
        from v2g.storage.postgres import connect_postgres  # noqa: PLC0415 (optional driver)

        return connect_postgres(parsed, **options)
    from v2g.storage.sqlite import connect_sqlite  # noqa: PLC0415

    return connect_sqlite(parsed, **options)


async def iterate(db: Executor, sql: str, *args: Any) -> AsyncIterator[Row]:
    """The rows of a query, one by one (convenience for small result sets)."""
    for row in await db.fetch(sql, *args):
        yield row
