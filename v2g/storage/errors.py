"""Storage errors, one tree::

    StorageError
    ├── DatabaseUrlError        V2G_DATABASE_URL cannot be understood
    ├── DatabaseUnavailableError the server or file cannot be reached (``url`` redacted)
    ├── SchemaError             the schema is not at the version the code expects
    └── QueryError              a statement failed (``sql`` names the first line)

Driver exceptions (asyncpg, sqlite3, OSError) are re-raised as these with ``raise ... from``.
"""

from __future__ import annotations


class StorageError(Exception):
    """Anything that went wrong talking to the database."""


class DatabaseUrlError(StorageError, ValueError):
    """The database URL is malformed or names an unsupported scheme."""


class DatabaseUnavailableError(StorageError, ConnectionError):
    """The database could not be reached."""

    def __init__(self, url: str, why: str) -> None:
        self.url = url
        self.why = why
        super().__init__(f"database {url} is unavailable: {why}")


class SchemaError(StorageError):
    """The schema version differs from the one the code expects."""

    def __init__(self, found: int, expected: int) -> None:
        self.found = found
        self.expected = expected
        hint = "run `v2g db upgrade`" if found < expected else "upgrade v2g-dispatch"
        super().__init__(
            f"database schema is at version {found}, this code needs {expected}: {hint}"
        )


class QueryError(StorageError):
    """A statement failed; ``sql`` is its first line."""

    def __init__(self, sql: str, why: str) -> None:
        self.sql = sql.strip().splitlines()[0] if sql.strip() else sql
        self.why = why
        super().__init__(f"{why} (in: {self.sql})")
