"""Apply the schema migrations in ``v2g/storage/migrations/`` in order, each exactly once.

A migration is a file ``NNNN_name.sql`` of statements separated by ``;``; it runs in one
transaction together with its row in ``t_schema_version``, so a failed migration leaves
nothing behind. On PostgreSQL an advisory lock keeps two replicas from upgrading at once;
on SQLite ``BEGIN IMMEDIATE`` does the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import structlog

from v2g.storage.database import Database, Executor
from v2g.storage.errors import SchemaError
from v2g.storage.url import Dialect

log = structlog.get_logger(__name__)

_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")
_LOCK_KEY = 0x7632_6764  # advisory lock id of schema upgrades
_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS t_schema_version (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL
)"""


@dataclass(frozen=True)
class Migration:
    """One numbered schema change."""

    version: int
    name: str
    sql: str

    @property
    def statements(self) -> list[str]:
        """The statements of the file, comments dropped."""
        lines = [line.split("--", 1)[0] for line in self.sql.splitlines()]
        return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def migrations() -> list[Migration]:
    """Every migration shipped with the package, by version."""
    found = []
    for entry in resources.files("v2g.storage.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def expected_version() -> int:
    """The schema version this code needs."""
    return len(migrations())


async def _version(db: Executor) -> int:
    await db.execute(_VERSION_TABLE)
    found = await db.fetchval("SELECT MAX(version) FROM t_schema_version")
    return int(found or 0)


async def current_version(db: Database) -> int:
    """The version the database is at (0: empty)."""
    return await _version(db)


async def upgrade(db: Database, *, target: int | None = None) -> list[Migration]:
    """Apply every migration above the current version (up to ``target``); return them."""
    applied: list[Migration] = []
    for migration in migrations():
        if target is not None and migration.version > target:
            break
        async with db.transaction() as tx:
            if db.dialect is Dialect.POSTGRESQL:
                await tx.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            if migration.version <= await _version(tx):
                continue
            for statement in migration.statements:
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO t_schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                datetime.now(UTC),
            )
        applied.append(migration)
        log.info("schema_migrated", version=migration.version, name=migration.name)
    return applied


async def ensure_schema(db: Database, *, migrate: bool) -> int:
    """Upgrade when ``migrate`` is set, else check; :class:`SchemaError` when out of date."""
    if migrate:
        await upgrade(db)
    found, expected = await current_version(db), expected_version()
    if found != expected:
        raise SchemaError(found, expected)
    return found
