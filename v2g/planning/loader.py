"""Build a run's problems from the database: the depot day and the charge-scheduling problem.

* :func:`load_day`: the allocator's :class:`DepotDay` at ``now``: the site's vehicles with
  their latest SoC, the routes on the road in ``[now, now + planning_window_h)``;
* :func:`load_schedule_problem`: the scheduler's :class:`ScheduleProblem` from the half hour
  containing ``now``, in independent mode (:attr:`RouteSource.PLANNED`: each route's planned
  vehicle) or post-allocation mode (:attr:`RouteSource.ALLOCATED`: the given or the latest
  stored allocation), with the window's prices and load forecast. Prices must cover the
  window as the scheduler will adapt it, else :class:`MissingDataError` names the span.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta

from allocation import AllocationResult, DepotDay, RouteStatus, Vehicle
from allocation import Route as DayRoute
from scheduling import Mode, Route, RouteAssignment, ScheduleProblem, VehicleSpec
from scheduling.models import MAX_WINDOW_H
from scheduling.slots import floor_slot
from v2g.planning.coverage import placeholder_prices, require_prices, uncovered
from v2g.planning.errors import MissingDataError, iso
from v2g.site_params import SiteConfig
from v2g.storage.database import Executor
from v2g.storage.market import load_forecast_between, prices_between
from v2g.storage.plans import latest_allocation
from v2g.storage.routes import routes_between
from v2g.storage.vehicles import VehicleRecord, list_vehicles

HORIZON = timedelta(hours=MAX_WINDOW_H)


class RouteSource(enum.StrEnum):
    """Which vehicle drives which route when scheduling."""

    PLANNED = "planned"  # t_route_plan.vehicle_id: independent mode
    ALLOCATED = "allocated"  # the allocation: post-allocation mode


def _efficiency(site_id: str, records: list[VehicleRecord]) -> float | None:
    known = [r.efficiency_kwh_per_km for r in records if r.efficiency_kwh_per_km is not None]
    if known:
        return sum(known) / len(known)
    if records:
        raise MissingDataError(
            "no vehicle states efficiency_kwh_per_km", site_id=site_id, hint="vehicles.csv"
        )
    return None


def _check_planned(site_id: str, routes: list[DayRoute], vehicle_ids: set[str]) -> None:
    for r in routes:
        if r.planned_vehicle_id is not None and r.planned_vehicle_id not in vehicle_ids:
            raise MissingDataError(
                f"route {r.route_id} is planned on vehicle {r.planned_vehicle_id}, "
                "which the site does not have",
                site_id=site_id,
            )


async def load_day(db: Executor, site_id: str, config: SiteConfig, *, now: datetime) -> DepotDay:
    """The depot day of an allocation at ``now``."""
    records = await list_vehicles(db, site_id)
    average = _efficiency(site_id, records)
    vehicles = tuple(
        Vehicle(
            vehicle_id=r.vehicle_id,
            vehicle_type=r.vehicle_type,
            capabilities=r.capabilities,
            battery_kwh=r.battery_kwh,
            efficiency_kwh_per_km=r.efficiency_kwh_per_km or average,
            soc_pct=r.soc_pct,
            charge_rate_kw=r.max_charge_kw,
            # offline over MQTT: keeps its started routes, takes no new ones
            available_until=now if r.reported_offline else None,
        )
        for r in records
    )
    now = now.astimezone(UTC)
    routes = await routes_between(db, site_id, now, now + timedelta(hours=config.planning_window_h))
    _check_planned(site_id, routes, {v.vehicle_id for v in vehicles})
    return DepotDay(
        site_id=site_id,
        window_start=now,
        routes=tuple(routes),
        vehicles=vehicles,
        parameters=config.allocation_parameters(),
    )


async def _assignments(
    db: Executor, site_id: str, allocation: AllocationResult | None
) -> AllocationResult:
    if allocation is not None:
        return allocation
    stored = await latest_allocation(db, site_id)
    if stored is None:
        raise MissingDataError(
            "no allocation stored",
            site_id=site_id,
            hint="run `v2g allocate --site-id` first, or schedule with --route-source planned",
        )
    return stored.result


async def load_schedule_problem(
    db: Executor,
    site_id: str,
    config: SiteConfig,
    *,
    now: datetime,
    route_source: RouteSource,
    allocation: AllocationResult | None = None,
) -> ScheduleProblem:
    """The charge-scheduling problem at ``now`` (see the module docstring)."""
    start = floor_slot(now)
    records = await list_vehicles(db, site_id)
    vehicles = tuple(
        VehicleSpec(
            vehicle_id=r.vehicle_id,
            battery_kwh=r.battery_kwh,
            ac_charge_rate_kw=r.max_charge_kw,
            efficiency_kwh_per_km=r.efficiency_kwh_per_km,
            soc_pct=r.soc_pct,
        )
        for r in records
    )
    known = {v.vehicle_id for v in vehicles}
    found = await routes_between(db, site_id, start, start + HORIZON)
    plan = [r for r in found if r.status is not RouteStatus.CANCELLED]
    allocations: tuple[RouteAssignment, ...] = ()
    if route_source is RouteSource.PLANNED:
        _check_planned(site_id, plan, known)
    else:
        given = (await _assignments(db, site_id, allocation)).vehicle_of()
        ids = {r.route_id for r in plan}
        allocations = tuple(
            RouteAssignment(route_id=rid, vehicle_id=vid)
            for rid, vid in sorted(given.items())
            if rid in ids and vid in known
        )
    independent = route_source is RouteSource.PLANNED
    routes = tuple(
        Route(
            route_id=r.route_id,
            vehicle_id=r.planned_vehicle_id if independent else None,
            departure=r.start,
            return_at=r.end,
            distance_km=r.distance_km,
            energy_kwh=r.energy_kwh,
        )
        for r in plan
    )
    prices = await prices_between(db, site_id, start, start + HORIZON)
    problem = ScheduleProblem(
        site_id=site_id,
        window_start=start,
        planning_window_h=config.schedule_window_h,
        adapt_window=config.schedule_window_adapt,
        mode=Mode.INDEPENDENT if independent else Mode.POST_ALLOCATION,
        vehicles=vehicles,
        routes=routes,
        allocations=allocations,
        prices=tuple(prices) or placeholder_prices(start),
        load_forecast=tuple(await load_forecast_between(db, site_id, start, start + HORIZON)),
        site=config.schedule_site(fleet_charge_kw=sum(v.ac_charge_rate_kw for v in vehicles)),
    )
    require_prices(problem, prices, max_gap=timedelta(hours=config.price_gap_max_h))
    return problem


async def check_prices(db: Executor, site_id: str, config: SiteConfig, *, now: datetime) -> None:
    """Fail fast: :class:`MissingDataError` unless prices cover the requested schedule window.

    :func:`load_schedule_problem` checks again over the window as adapted to the departures.
    """
    start = floor_slot(now)
    end = start + timedelta(hours=config.schedule_window_h)
    prices = await prices_between(db, site_id, start, end)
    gaps = uncovered(prices, start, end, max_gap=timedelta(hours=config.price_gap_max_h))
    if gaps:
        raise MissingDataError(
            "no prices",
            site_id=site_id,
            start=gaps[0][0],
            end=gaps[0][1],
            hint=f"schedule window {iso(start)} to {iso(end)}; load them with `v2g db seed`",
        )
