"""Planning runs: allocations (``t_allocation_run``, ``t_route_allocated``) and charge schedules
(``t_schedule_run``, ``t_charge_schedule``).

Each run keeps its metadata in columns and its full result as JSON, so the latest allocation
reads back as the exact :class:`AllocationResult` a re-run takes as ``previous``. Runs of a
site are ordered by ``created_at``, which is kept strictly increasing per site (a run stored
in the same microsecond as, or with an earlier clock than, the site's last run is stamped one
microsecond after it): "latest" is always the last stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from allocation import AllocationResult
from scheduling import ChargePlan, Mode
from v2g.storage.database import Database, Executor

_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class StoredAllocation:
    """An allocation run as stored."""

    run_id: str
    created_at: datetime
    result: AllocationResult


@dataclass(frozen=True)
class StoredSchedule:
    """A schedule run as stored."""

    run_id: str
    created_at: datetime
    mode: Mode
    allocation_run_id: str | None
    plan: ChargePlan


@dataclass(frozen=True)
class VehicleSchedule:
    """One vehicle's charging power per slot, from a stored schedule run."""

    run_id: str
    vehicle_id: str
    slot_minutes: int
    slots: tuple[tuple[datetime, float], ...]  # (slot start, power_kw)


async def _stamp(tx: Executor, table: str, site_id: str, recorded_at: datetime) -> datetime:
    last = await tx.fetchval(
        f"SELECT created_at FROM {table} WHERE site_id = $1 "  # noqa: S608
        "ORDER BY created_at DESC LIMIT 1",
        site_id,
    )
    return recorded_at if last is None or recorded_at > last else last + _TICK


async def store_allocation(
    db: Database, result: AllocationResult, *, recorded_at: datetime, run_id: str | None = None
) -> str:
    """Store the run and its route -> vehicle rows in one transaction; return its run id."""
    run_id = run_id or uuid.uuid4().hex
    async with db.transaction() as tx:
        created = await _stamp(tx, "t_allocation_run", result.site_id, recorded_at)
        await tx.execute(
            "INSERT INTO t_allocation_run (run_id, site_id, trigger_type, window_start, "
            "window_end, status, solver, fallback_reason, objective, mip_gap, routes_in_window, "
            "routes_covered, runtime_s, created_at, result) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            run_id,
            result.site_id,
            result.trigger.value,
            result.window_start,
            result.window_end,
            result.status.value,
            result.solver,
            result.fallback_reason,
            result.objective,
            result.mip_gap,
            result.routes_in_window,
            result.routes_covered,
            result.runtime_s,
            created,
            result.model_dump_json(),
        )
        rows = [(run_id, result.site_id, r, v) for r, v in sorted(result.vehicle_of().items())]
        await tx.copy("t_route_allocated", ("run_id", "site_id", "route_id", "vehicle_id"), rows)
    return run_id


def _allocation(row: dict[str, object]) -> StoredAllocation:
    result = AllocationResult.model_validate_json(str(row["result"]))
    created = row["created_at"]
    assert isinstance(created, datetime)  # noqa: S101 (TIMESTAMPTZ reads as datetime)
    return StoredAllocation(str(row["run_id"]), created, result)


async def latest_allocation(db: Executor, site_id: str) -> StoredAllocation | None:
    """The site's last stored allocation (a re-run's ``previous``), or None."""
    row = await db.fetchrow(
        "SELECT run_id, created_at, result FROM t_allocation_run WHERE site_id = $1 "
        "ORDER BY created_at DESC LIMIT 1",
        site_id,
    )
    return None if row is None else _allocation(row)


async def get_allocation(db: Executor, run_id: str) -> StoredAllocation | None:
    """One allocation run, or None."""
    row = await db.fetchrow(
        "SELECT run_id, created_at, result FROM t_allocation_run WHERE run_id = $1", run_id
    )
    return None if row is None else _allocation(row)


async def allocated_routes(db: Executor, run_id: str) -> dict[str, str]:
    """Route id -> vehicle id of one allocation run."""
    rows = await db.fetch(
        "SELECT route_id, vehicle_id FROM t_route_allocated WHERE run_id = $1 ORDER BY route_id",
        run_id,
    )
    return {r["route_id"]: r["vehicle_id"] for r in rows}


async def store_schedule(
    db: Database,
    plan: ChargePlan,
    *,
    mode: Mode,
    recorded_at: datetime,
    allocation_run_id: str | None = None,
    run_id: str | None = None,
) -> str:
    """Store the plan and every vehicle's power per slot in one transaction; return its id."""
    run_id = run_id or uuid.uuid4().hex
    step = timedelta(minutes=plan.slot_minutes)
    async with db.transaction() as tx:
        created = await _stamp(tx, "t_schedule_run", plan.site_id, recorded_at)
        await tx.execute(
            "INSERT INTO t_schedule_run (run_id, site_id, allocation_run_id, mode, window_start, "
            "slot_minutes, n_slots, status, solver, cost_eur, unmet_kwh, runtime_s, created_at, "
            "plan) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            run_id,
            plan.site_id,
            allocation_run_id,
            mode.value,
            plan.window_start,
            plan.slot_minutes,
            plan.n_slots,
            plan.status.value,
            plan.solver,
            plan.costs.energy_eur + plan.costs.triad_eur,
            sum(u.missing_kwh for u in plan.unmet),
            plan.runtime_s,
            created,
            plan.model_dump_json(),
        )
        rows = [
            (run_id, v.vehicle_id, plan.window_start + t * step, kw)
            for v in plan.vehicles
            for t, kw in enumerate(v.power_kw)
        ]
        await tx.copy("t_charge_schedule", ("run_id", "vehicle_id", "slot_start", "power_kw"), rows)
    return run_id


def _schedule(row: dict[str, object]) -> StoredSchedule:
    created = row["created_at"]
    assert isinstance(created, datetime)  # noqa: S101 (TIMESTAMPTZ reads as datetime)
    allocation_run_id = row["allocation_run_id"]
    return StoredSchedule(
        run_id=str(row["run_id"]),
        created_at=created,
        mode=Mode(str(row["mode"])),
        allocation_run_id=None if allocation_run_id is None else str(allocation_run_id),
        plan=ChargePlan.model_validate_json(str(row["plan"])),
    )


async def latest_schedule(db: Executor, site_id: str) -> StoredSchedule | None:
    """The site's last stored charge schedule, or None."""
    row = await db.fetchrow(
        "SELECT run_id, created_at, mode, allocation_run_id, plan FROM t_schedule_run "
        "WHERE site_id = $1 ORDER BY created_at DESC LIMIT 1",
        site_id,
    )
    return None if row is None else _schedule(row)


async def vehicle_schedule(db: Executor, site_id: str, vehicle_id: str) -> VehicleSchedule | None:
    """The vehicle's slots in the site's last schedule that planned it, or None."""
    run = await db.fetchrow(
        "SELECT r.run_id, r.slot_minutes FROM t_schedule_run r WHERE r.site_id = $1 AND EXISTS "
        "(SELECT 1 FROM t_charge_schedule c WHERE c.run_id = r.run_id AND c.vehicle_id = $2) "
        "ORDER BY r.created_at DESC LIMIT 1",
        site_id,
        vehicle_id,
    )
    if run is None:
        return None
    rows = await db.fetch(
        "SELECT slot_start, power_kw FROM t_charge_schedule WHERE run_id = $1 AND vehicle_id = $2 "
        "ORDER BY slot_start",
        run["run_id"],
        vehicle_id,
    )
    slots = tuple((r["slot_start"], float(r["power_kw"])) for r in rows)
    return VehicleSchedule(str(run["run_id"]), vehicle_id, int(run["slot_minutes"]), slots)
