"""Storage: PostgreSQL (asyncpg) in production, embedded SQLite by default; one schema.

``open_database(url)`` connects; ``upgrade(db)`` applies the migrations; the repositories
(one module per table family) read and write the service's memory.
"""

from v2g.storage.database import Database, Executor, Row, open_database
from v2g.storage.errors import (
    DatabaseUnavailableError,
    DatabaseUrlError,
    QueryError,
    SchemaError,
    StorageError,
)
from v2g.storage.migrate import current_version, ensure_schema, expected_version, upgrade
from v2g.storage.url import DEFAULT_DATABASE_URL, DatabaseUrl, Dialect, redact

__all__ = [
    "DEFAULT_DATABASE_URL",
    "Database",
    "DatabaseUnavailableError",
    "DatabaseUrl",
    "DatabaseUrlError",
    "Dialect",
    "Executor",
    "QueryError",
    "Row",
    "SchemaError",
    "StorageError",
    "current_version",
    "ensure_schema",
    "expected_version",
    "open_database",
    "redact",
    "upgrade",
]
