"""The service's journal: its database opened, the manager journaling, a restart's leftovers loaded.

``async with service_journal(settings, manager=..., on_result=...) as journaling:``

1. opens ``settings.database_url`` (None: no journal, dispatches live in memory only; that
   is for in-process use: ``v2g serve`` always sets a URL, the embedded SQLite by default);
2. checks the schema, upgrading it first when ``database_migrate`` says so (None: upgrade
   SQLite, only check PostgreSQL, whose upgrades are ``v2g db upgrade``'s job): an out-of-date
   schema raises :class:`~v2g.storage.SchemaError`, which says what to run;
3. starts a :class:`~v2g.storage.journal.SqlJournal` and gives it to the manager;
4. loads what the last run left: the recent results of the sites (a repeated signal id gets
   its stored result), the vehicles still committed to them, and the dispatches in flight
   (a :class:`~v2g.recovery.Recovery`, for the service to run once connected).

It yields both (a :class:`Journaling`), or None without a database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog

from dispatch import DispatchManager, NopJournal
from metrics import MetricsSink
from v2g.recovery import Recovery, ResultHandler
from v2g.settings import ServiceSettings
from v2g.storage import Database, Dialect, ensure_schema, open_database
from v2g.storage.journal import SqlJournal

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Journaling:
    """The open journal and the recovery of what the last run left in flight."""

    db: Database
    journal: SqlJournal
    recovery: Recovery


@asynccontextmanager
async def service_journal(
    settings: ServiceSettings,
    *,
    manager: DispatchManager,
    on_result: ResultHandler,
    metrics: MetricsSink | None = None,
) -> AsyncIterator[Journaling | None]:
    """Journal ``manager``'s dispatches in ``settings.database_url``; yield journal, recovery."""
    if settings.database_url is None:
        log.warning("journal_disabled", why="no database_url: dispatches are kept in memory")
        yield None
        return
    sites = settings.require_sites()
    async with open_database(settings.database_url) as db:
        migrate = settings.database_migrate
        if migrate is None:
            migrate = db.dialect is Dialect.SQLITE
        version = await ensure_schema(db, migrate=migrate)
        async with SqlJournal(db, metrics=metrics) as journal:
            for result in await journal.recent_results(settings.results_preload, sites):
                manager.remember(result)
            now = manager.clock.now()
            held = await journal.commitments(now, sites)
            for c in held:
                manager.ledger.reserve(c.site_id, (c.vehicle_id,), c.signal_id, c.start, c.end)
            recovery = Recovery(
                journal,
                clock=manager.clock,
                on_result=on_result,
                ledger=manager.ledger,
                metrics=metrics,
            )
            in_flight = await recovery.load(sites)
            manager.journal = journal
            log.info(
                "journal_opened",
                database=db.url.display,
                schema_version=version,
                in_flight=in_flight,
                commitments=len(held),
            )
            try:
                yield Journaling(db, journal, recovery)
            finally:
                manager.journal = NopJournal()
