"""``V2G_DATABASE_URL``: which database, and how to show it without its password.

* ``postgresql://user:password@host:5432/dbname`` (or ``postgres://``): PostgreSQL via asyncpg;
* ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, ``sqlite:///:memory:``:
  the embedded SQLite database (the default, :data:`DEFAULT_DATABASE_URL`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from v2g.storage.errors import DatabaseUrlError

DEFAULT_DATABASE_URL = "sqlite:///v2g.db"


class Dialect(enum.StrEnum):
    """The SQL dialect a :class:`~v2g.storage.database.Database` speaks."""

    POSTGRESQL = "postgresql"
    SQLITE = "sqlite"


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed database URL."""

    url: str
    dialect: Dialect
    path: str | None = None  # SQLite only: file path or ':memory:'

    @classmethod
    def parse(cls, url: str | None) -> DatabaseUrl:
        """Parse ``url`` (None: the default embedded database)."""
        url = DEFAULT_DATABASE_URL if url is None or not url.strip() else url.strip()
        parts = urlsplit(url)
        if parts.scheme in {"postgresql", "postgres"}:
            if not parts.hostname and "host=" not in parts.query:
                raise DatabaseUrlError(f"{redact(url)}: host is missing")
            return cls(url, Dialect.POSTGRESQL)
        if parts.scheme == "sqlite":
            if parts.netloc:
                raise DatabaseUrlError(
                    f"{url}: use sqlite:///relative.db or sqlite:////absolute.db (three slashes)"
                )
            path = parts.path[1:] if parts.path.startswith("/") else parts.path
            if not path:
                raise DatabaseUrlError(f"{url}: the file path is missing")
            return cls(url, Dialect.SQLITE, path)
        raise DatabaseUrlError(
            f"{redact(url)}: scheme must be postgresql:// or sqlite:///, not {parts.scheme!r}"
        )

    @property
    def display(self) -> str:
        """The URL without its password, for logs and error messages."""
        return redact(self.url)


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
