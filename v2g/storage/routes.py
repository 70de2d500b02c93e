"""Route plans (``t_route_plan``): the depot's routes, as :class:`allocation.Route` objects.

``vehicle_id`` is the planner's vehicle (``Route.planned_vehicle_id``), which independent
scheduling uses. Writes touch ``updated_at`` only when a route really changed, so the cheap
:func:`fingerprint` (count and latest change) tells a trigger whether anything happened, and
:func:`route_statuses` what (new, cancelled, started routes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allocation import Route, RouteStatus
from v2g.storage.database import Database, Executor, Row

_COLUMNS = (
    "site_id",
    "route_id",
    "vehicle_id",
    "start_at",
    "end_at",
    "distance_km",
    "energy_kwh",
    "vehicle_type",
    "required_capabilities",
    "status",
)
_UPSERT = (
    f"INSERT INTO t_route_plan ({', '.join(_COLUMNS)}, updated_at) "  # noqa: S608
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(_COLUMNS) + 2))}) "
    "ON CONFLICT (site_id, route_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*_COLUMNS[2:], "updated_at"))
)


@dataclass(frozen=True)
class RouteFingerprint:
    """Changes when any route of the site is added, changed or deleted."""

    count: int
    last_change: datetime | None


@dataclass(frozen=True)
class UpsertCounts:
    """What a bulk write did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def _values(site_id: str, r: Route) -> tuple[Any, ...]:
    return (
        site_id,
        r.route_id,
        r.planned_vehicle_id,
        r.start,
        r.end,
        r.distance_km,
        r.energy_kwh,
        r.vehicle_type,
        json.dumps(sorted(r.required_capabilities)),
        r.status.value,
    )


def _route(row: Row) -> Route:
    return Route(
        route_id=row["route_id"],
        site_id=row["site_id"],
        planned_vehicle_id=row["vehicle_id"],
        start=row["start_at"],
        end=row["end_at"],
        distance_km=row["distance_km"],
        energy_kwh=row["energy_kwh"],
        vehicle_type=row["vehicle_type"],
        required_capabilities=frozenset(json.loads(row["required_capabilities"])),
        status=RouteStatus(row["status"]),
    )


async def upsert_routes(
    db: Database, site_id: str, routes: Sequence[Route], *, now: datetime
) -> UpsertCounts:
    """Insert new routes, update changed ones; unchanged routes keep their ``updated_at``."""
    async with db.transaction() as tx:
        rows = await tx.fetch("SELECT * FROM t_route_plan WHERE site_id = $1", site_id)
        stored = {r["route_id"]: _values(site_id, _route(r)) for r in rows}
        changed = [
            _values(site_id, r) for r in routes if stored.get(r.route_id) != _values(site_id, r)
        ]
        await tx.executemany(_UPSERT, [(*v, now) for v in changed])
    inserted = sum(1 for v in changed if v[1] not in stored)
    return UpsertCounts(inserted, len(changed) - inserted, len(routes) - len(changed))


async def routes_between(db: Executor, site_id: str, start: datetime, end: datetime) -> list[Route]:
    """Routes on the road at some time in ``[start, end)`` (any status), by start then id."""
    rows = await db.fetch(
        "SELECT * FROM t_route_plan WHERE site_id = $1 AND start_at < $3 AND end_at > $2 "
        "ORDER BY start_at, route_id",
        site_id,
        start,
        end,
    )
    return [_route(r) for r in rows]


async def set_route_status(
    db: Executor, site_id: str, route_id: str, status: RouteStatus, *, now: datetime
) -> bool:
    """Change a route's status; False when the route is unknown or already in that status."""
    found = await db.fetchval(
        "UPDATE t_route_plan SET status = $3, updated_at = $4 "
        "WHERE site_id = $1 AND route_id = $2 AND status <> $3 RETURNING route_id",
        site_id,
        route_id,
        status.value,
        now,
    )
    return found is not None


async def cancel_route(db: Executor, site_id: str, route_id: str, *, now: datetime) -> bool:
    """Cancel a route (it is never allocated again); False when unknown or already cancelled."""
    return await set_route_status(db, site_id, route_id, RouteStatus.CANCELLED, now=now)


async def fingerprint(db: Executor, site_id: str) -> RouteFingerprint:
    """Count and latest ``updated_at`` of the site's routes: one cheap indexed query."""
    row = await db.fetchrow(
        "SELECT COUNT(*) AS n, MAX(updated_at) AS last FROM t_route_plan WHERE site_id = $1",
        site_id,
    )
    assert row is not None  # noqa: S101 (an aggregate always returns a row)
    return RouteFingerprint(int(row["n"]), _aware(row["last"]))


def _aware(value: Any) -> datetime | None:
    """``MAX(updated_at)``: SQLite returns the stored text (no declared type on aggregates)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


async def route_statuses(
    db: Executor, site_id: str, *, ending_after: datetime | None = None
) -> dict[str, RouteStatus]:
    """Route id -> status of the site's routes (those ending after ``ending_after``)."""
    if ending_after is None:
        rows = await db.fetch(
            "SELECT route_id, status FROM t_route_plan WHERE site_id = $1", site_id
        )
    else:
        rows = await db.fetch(
            "SELECT route_id, status FROM t_route_plan WHERE site_id = $1 AND end_at > $2",
            site_id,
            ending_after,
        )
    return {r["route_id"]: RouteStatus(r["status"]) for r in rows}
