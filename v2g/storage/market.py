"""Prices (``t_price``, with TRIAD flags) and load forecasts (``t_load_forecast``) per site.

Both are step series: a point holds from its ``start_at`` until the next one. Writing a
series replaces the site's points in the span it covers (first to last start) in one
transaction, with a bulk copy, so re-seeding is idempotent and a year of hourly prices loads
in one round trip. Reading a window returns the point in force at its start too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from scheduling import LoadPoint, PricePoint
from v2g.storage.database import Database, Executor


async def _replace(
    db: Database, table: str, columns: Sequence[str], site_id: str, rows: list[tuple[Any, ...]]
) -> int:
    if not rows:
        return 0
    starts = [r[1] for r in rows]
    async with db.transaction() as tx:
        await tx.execute(
            f"DELETE FROM {table} WHERE site_id = $1 AND start_at >= $2 AND start_at <= $3",  # noqa: S608
            site_id,
            min(starts),
            max(starts),
        )
        await tx.copy(table, columns, rows)
    return len(rows)


def _unique(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The last row of each start time (a later point replaces an earlier one)."""
    return list({r[1]: r for r in rows}.values())


async def put_prices(db: Database, site_id: str, points: Sequence[PricePoint]) -> int:
    """Replace the site's prices in the span of ``points``; the number written."""
    rows = _unique([(site_id, p.start, p.price_eur_per_kwh, p.triad) for p in points])
    columns = ("site_id", "start_at", "price_eur_per_kwh", "triad")
    return await _replace(db, "t_price", columns, site_id, rows)


async def put_load_forecast(db: Database, site_id: str, points: Sequence[LoadPoint]) -> int:
    """Replace the site's load forecast in the span of ``points``; the number written."""
    rows = _unique([(site_id, p.start, p.load_kw) for p in points])
    return await _replace(db, "t_load_forecast", ("site_id", "start_at", "load_kw"), site_id, rows)


def _window(table: str, value_columns: str) -> str:
    return (
        f"SELECT start_at, {value_columns} FROM {table} "  # noqa: S608
        "WHERE site_id = $1 AND start_at < $3 AND start_at >= COALESCE("
        f"(SELECT MAX(start_at) FROM {table} WHERE site_id = $1 AND start_at <= $2), $2) "
        "ORDER BY start_at"
    )


_PRICES = _window("t_price", "price_eur_per_kwh, triad")
_LOADS = _window("t_load_forecast", "load_kw")


async def prices_between(
    db: Executor, site_id: str, start: datetime, end: datetime
) -> list[PricePoint]:
    """The price points in force in ``[start, end)``, by start."""
    rows = await db.fetch(_PRICES, site_id, start, end)
    return [
        PricePoint(start=r["start_at"], price_eur_per_kwh=r["price_eur_per_kwh"], triad=r["triad"])
        for r in rows
    ]


async def load_forecast_between(
    db: Executor, site_id: str, start: datetime, end: datetime
) -> list[LoadPoint]:
    """The load forecast points in force in ``[start, end)``, by start."""
    rows = await db.fetch(_LOADS, site_id, start, end)
    return [LoadPoint(start=r["start_at"], load_kw=r["load_kw"]) for r in rows]
