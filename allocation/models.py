"""Input models of a route allocation (the ``day.json`` file format).

A :class:`DepotDay` is the depot as known at ``window_start``: its routes (planned, started or
cancelled), its vehicles with their state of charge *now*, and the site's allocation
parameters. Units are in the field names: energy in kWh, power in kW, SoC in percent of the
usable battery, durations in the unit they name; times are timezone-aware. Every model is
frozen and validates itself.
"""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    model_validator,
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class RouteStatus(enum.StrEnum):
    """Where a route stands."""

    PLANNED = "planned"
    STARTED = "started"  # on the road: it stays with its vehicle
    CANCELLED = "cancelled"  # never allocated


class Route(_Frozen):
    """A delivery route: the vehicle is away from ``start`` to ``end``.

    The energy is ``energy_kwh`` when given, else ``distance_km`` times the vehicle's
    efficiency.
    """

    route_id: str = Field(min_length=1)
    site_id: str | None = Field(default=None, description="None: the day's site")
    planned_vehicle_id: str | None = Field(default=None, description="the planner's vehicle")
    start: AwareDatetime
    end: AwareDatetime
    distance_km: float | None = Field(default=None, ge=0)
    energy_kwh: float | None = Field(default=None, ge=0)
    vehicle_type: str | None = Field(default=None, description="required type, None: any")
    required_capabilities: frozenset[str] = Field(
        default=frozenset(), description="every one must be among the vehicle's capabilities"
    )
    status: RouteStatus = RouteStatus.PLANNED

    @model_validator(mode="after")
    def _check(self) -> Route:
        if self.end <= self.start:
            raise ValueError(f"route {self.route_id}: end must be after start")
        if self.distance_km is None and self.energy_kwh is None:
            raise ValueError(f"route {self.route_id}: give distance_km or energy_kwh")
        return self

    @field_serializer("required_capabilities")
    def _sorted(self, value: frozenset[str]) -> list[str]:
        return sorted(value)  # stable files whatever the hash seed

    @property
    def duration_h(self) -> float:
        """Hours away from the depot."""
        return (self.end - self.start).total_seconds() / 3600


class Vehicle(_Frozen):
    """A depot vehicle as the allocator sees it, at the day's ``window_start``."""

    vehicle_id: str = Field(min_length=1)
    vehicle_type: str = Field(default="van", min_length=1)
    capabilities: frozenset[str] = frozenset()
    battery_kwh: float = Field(gt=0)
    efficiency_kwh_per_km: float = Field(gt=0)
    soc_pct: float = Field(ge=0, le=100, description="state of charge at window_start")
    charge_rate_kw: float = Field(ge=0, description="AC charge rate at the depot")
    available_from: AwareDatetime | None = Field(default=None, description="None: already")
    available_until: AwareDatetime | None = Field(default=None, description="None: all window")

    @model_validator(mode="after")
    def _check(self) -> Vehicle:
        if (
            self.available_from is not None
            and self.available_until is not None
            and self.available_until <= self.available_from
        ):
            raise ValueError(f"vehicle {self.vehicle_id}: available_until <= available_from")
        return self

    @field_serializer("capabilities")
    def _sorted(self, value: frozenset[str]) -> list[str]:
        return sorted(value)  # stable files whatever the hash seed

    @property
    def soc_kwh(self) -> float:
        """Energy in the battery at window_start."""
        return self.battery_kwh * self.soc_pct / 100

    def is_available(self, start: datetime, end: datetime) -> bool:
        """True when ``[start, end]`` lies within the availability window."""
        if self.available_from is not None and start < self.available_from:
            return False
        return self.available_until is None or end <= self.available_until


class AllocationParameters(_Frozen):
    """The site's allocation parameters (the original system's MAF parameter set).

    The score weights are relative: scores are scaled so that their total over a whole
    allocation stays below ``covered_route_weight`` (see ``docs/allocation.md``).
    """

    window_h: float = Field(default=18.0, gt=0, le=48, description="rolling window length")
    freeze_horizon_min: float = Field(
        default=60.0, ge=0, description="re-runs keep assignments of routes starting this soon"
    )
    turnaround_min: float = Field(default=15.0, ge=0, description="minimum gap between routes")
    reserve_soc_pct: float = Field(
        default=10.0, ge=0, lt=100, description="SoC the battery never goes below"
    )
    charging_efficiency: float = Field(default=0.9, gt=0, le=1)
    max_routes_per_sequence: int = Field(default=4, ge=1, le=12)
    max_driving_h: float = Field(default=12.0, gt=0, description="route hours per sequence")
    covered_route_weight: float = Field(default=100.0, gt=0, description="W of the seed model")
    keep_planned_weight: float = Field(default=1.0, ge=0)
    keep_previous_weight: float = Field(
        default=5.0, ge=0, description="re-runs: stability; > planned + 2 margin + used"
    )
    energy_margin_weight: float = Field(default=1.0, ge=0)
    vehicle_used_weight: float = Field(default=0.5, ge=0)
    time_limit_s: float = Field(default=10.0, gt=0)
    mip_rel_gap: float = Field(default=1e-6, ge=0, lt=0.1)


class DepotDay(_Frozen):
    """Everything the allocator needs for one site, as known at ``window_start``."""

    site_id: str = Field(default="site", min_length=1)
    window_start: AwareDatetime = Field(description="now: the rolling window starts here")
    routes: tuple[Route, ...]
    vehicles: tuple[Vehicle, ...]
    parameters: AllocationParameters = AllocationParameters()

    @model_validator(mode="after")
    def _check(self) -> DepotDay:
        vids = [v.vehicle_id for v in self.vehicles]
        if len(set(vids)) != len(vids):
            raise ValueError("vehicle ids must be unique")
        rids = [r.route_id for r in self.routes]
        if len(set(rids)) != len(rids):
            raise ValueError("route ids must be unique")
        known = set(vids)
        for r in self.routes:
            if r.planned_vehicle_id is not None and r.planned_vehicle_id not in known:
                raise ValueError(f"route {r.route_id}: unknown vehicle {r.planned_vehicle_id}")
            if r.site_id is not None and r.site_id != self.site_id:
                raise ValueError(f"route {r.route_id}: site {r.site_id} is not {self.site_id}")
        return self
