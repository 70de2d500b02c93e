"""Input models of a charge-scheduling problem (the ``scenario.json`` file format).

Units are in the field names: power in kW, energy in kWh, SoC in percent of the usable battery
capacity, prices in EUR/kWh, times timezone-aware UTC. Every model is frozen and validates
itself; a bad scenario is refused with a message naming the field.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

SLOT_MINUTES = 30
SLOT_H = SLOT_MINUTES / 60
MIN_WINDOW_H = 4.0
MAX_WINDOW_H = 24.0
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Mode(enum.StrEnum):
    """Which vehicle drives which route."""

    INDEPENDENT = "independent"  # routes as planned, each with its own ``vehicle_id``
    POST_ALLOCATION = "post_allocation"  # routes as assigned by the route allocator


class VehicleSpec(_Frozen):
    """A depot vehicle as the scheduler sees it."""

    vehicle_id: str = Field(min_length=1)
    battery_kwh: float = Field(gt=0)
    ac_charge_rate_kw: float = Field(ge=0)
    efficiency_kwh_per_km: float | None = Field(
        default=None, gt=0, description="None: the fleet average efficiency is used"
    )
    soc_pct: float = Field(ge=0, le=100, description="current state of charge")

    @property
    def soc_kwh(self) -> float:
        """Energy in the battery now."""
        return self.battery_kwh * self.soc_pct / 100


class Route(_Frozen):
    """A delivery route: the vehicle is away from ``departure`` to ``return_at``.

    The energy is ``energy_kwh`` when given, else ``distance_km`` times the vehicle's
    efficiency (or the fleet average efficiency).
    """

    route_id: str = Field(min_length=1)
    vehicle_id: str | None = Field(default=None, description="planned vehicle (independent mode)")
    departure: AwareDatetime
    return_at: AwareDatetime
    distance_km: float | None = Field(default=None, ge=0)
    energy_kwh: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check(self) -> Route:
        if self.return_at < self.departure:
            raise ValueError(f"route {self.route_id}: return_at is before departure")
        if self.distance_km is None and self.energy_kwh is None:
            raise ValueError(f"route {self.route_id}: give distance_km or energy_kwh")
        return self


class RouteAssignment(_Frozen):
    """One route as allocated to a vehicle by the route allocator."""

    route_id: str = Field(min_length=1)
    vehicle_id: str = Field(min_length=1)


class PricePoint(_Frozen):
    """Energy price from ``start`` until the next point (or one hour for the last one)."""

    start: AwareDatetime
    price_eur_per_kwh: float
    triad: bool = Field(default=False, description="a likely TRIAD half-hour: penalty applies")


class LoadPoint(_Frozen):
    """Forecast site load (other than vehicle charging) from ``start`` until the next point."""

    start: AwareDatetime
    load_kw: float = Field(ge=0)


class SiteParameters(_Frozen):
    """The site's scheduling parameters."""

    site_capacity_kw: float = Field(ge=0)
    target_soc_pct: float = Field(default=80.0, ge=0, le=100)
    triad_penalty_eur_per_kwh: float = Field(default=0.0, ge=0)
    time_preference_eur_per_kwh: float = Field(
        default=0.0,
        ge=0,
        description="synthetic time price: slot t costs this * t / n_slots extra (earlier cheaper)",
    )
    shortfall_penalty_eur_per_kwh: float = Field(default=1.0, ge=0)
    reserve_soc_pct: float = Field(
        default=0.0,
        ge=0,
        le=100,
        description="energy kept in the battery on top of route energy (0 = seed specification)",
    )


class ScheduleProblem(_Frozen):
    """Everything the charge scheduler needs for one site and one planning window."""

    site_id: str = "site"
    window_start: AwareDatetime
    planning_window_h: float = Field(default=12.0, ge=MIN_WINDOW_H, le=MAX_WINDOW_H)
    adapt_window: bool = Field(
        default=True, description="grow the window (up to 24 h) to cover departures needing energy"
    )
    mode: Mode = Mode.INDEPENDENT
    vehicles: tuple[VehicleSpec, ...]
    routes: tuple[Route, ...] = ()
    allocations: tuple[RouteAssignment, ...] = Field(
        default=(), description="post_allocation mode: the allocator's route -> vehicle"
    )
    prices: tuple[PricePoint, ...] = Field(min_length=1)
    load_forecast: tuple[LoadPoint, ...] = ()
    site: SiteParameters

    @model_validator(mode="after")
    def _check(self) -> ScheduleProblem:
        ids = [v.vehicle_id for v in self.vehicles]
        if len(set(ids)) != len(ids):
            raise ValueError("vehicle ids must be unique")
        route_ids = [r.route_id for r in self.routes]
        if len(set(route_ids)) != len(route_ids):
            raise ValueError("route ids must be unique")
        if self.window_start.utcoffset() != timedelta(0):
            raise ValueError("window_start must be in UTC")
        if (self.window_start - _EPOCH) % timedelta(minutes=SLOT_MINUTES):
            raise ValueError(f"window_start must fall on a {SLOT_MINUTES}-minute boundary")
        known = set(ids)
        for r in self.routes:
            if r.vehicle_id is not None and r.vehicle_id not in known:
                raise ValueError(f"route {r.route_id}: unknown vehicle {r.vehicle_id}")
        route_set = set(route_ids)
        for a in self.allocations:
            if a.vehicle_id not in known or a.route_id not in route_set:
                raise ValueError(f"allocation {a.route_id} -> {a.vehicle_id}: unknown id")
        return self
