"""``SiteConfig``: one site's parameter set (the original system's MAF configuration).

Flat keys, units in the names, every key with a documented default, so a stored set names only
what differs from the defaults. The model is frozen and refuses unknown keys; the same object
feeds the allocator (:meth:`SiteConfig.allocation_parameters`), the charge scheduler
(:meth:`SiteConfig.schedule_site`) and the service's periodic planning job
(``allocation_interval_s``, ``job_retry_max_s``).
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from allocation import AllocationParameters
from scheduling import SiteParameters
from scheduling.models import MAX_WINDOW_H, MIN_WINDOW_H, SLOT_MINUTES


class SolverName(enum.StrEnum):
    """Which backend solves; optional backends fall through to HiGHS when missing."""

    HIGHS = "highs"
    PULP = "pulp"
    HEXALY = "hexaly"
    GREEDY = "greedy"  # the greedy heuristics only, no solver


class SiteConfig(BaseModel):
    """A site's validated parameters; see ``docs/storage.md`` for the key table."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    # route allocation
    planning_window_h: float = Field(18.0, gt=0, le=48, description="allocation window")
    freeze_horizon_min: float = Field(
        60.0, ge=0, description="re-runs keep assignments of routes starting this soon"
    )
    turnaround_min: float = Field(15.0, ge=0, description="minimum gap between two routes")
    min_soc_pct: float = Field(
        10.0, ge=0, lt=100, description="reserve: SoC no route may take the battery below"
    )
    charging_efficiency: float = Field(0.9, gt=0, le=1, description="grid to battery")
    max_routes_per_sequence: int = Field(4, ge=1, le=12)
    max_driving_h: float = Field(12.0, gt=0, description="route hours per vehicle and window")
    covered_route_weight: float = Field(100.0, gt=0, description="W: value of a covered route")
    keep_planned_weight: float = Field(1.0, ge=0, description="score: the planner's vehicle")
    keep_previous_weight: float = Field(5.0, ge=0, description="score: re-run stability")
    energy_margin_weight: float = Field(1.0, ge=0, description="score: SoC margin kept")
    vehicle_used_weight: float = Field(0.5, ge=0, description="score: fewer vehicles used")
    mip_rel_gap: float = Field(1e-6, ge=0, lt=0.1, description="MIP optimality tolerance")
    allocation_time_limit_s: float = Field(10.0, gt=0)
    # charge scheduling
    schedule_window_h: float = Field(12.0, ge=MIN_WINDOW_H, le=MAX_WINDOW_H)
    schedule_window_adapt: bool = Field(
        default=True, description="grow the window (up to 24 h) for departures needing energy"
    )
    slot_minutes: int = Field(SLOT_MINUTES, description="scheduling slot length")
    site_capacity_kw: float | None = Field(
        None, ge=0, description="grid connection; None: the sum of the vehicles' charge rates"
    )
    target_soc_pct: float = Field(80.0, ge=0, le=100)
    triad_penalty_eur_per_kwh: float = Field(0.0, ge=0)
    time_preference_eur_per_kwh: float = Field(0.0, ge=0)
    shortfall_penalty_eur_per_kwh: float = Field(1.0, ge=0)
    price_gap_max_h: float = Field(
        2.0, gt=0, description="longest span one price point may cover before data is missing"
    )
    schedule_time_limit_s: float = Field(10.0, gt=0)
    # both solves
    solver: SolverName = SolverName.HIGHS
    # the service's periodic planning job
    allocation_interval_s: float = Field(900.0, ge=10, description="rolling re-run period")
    job_retry_max_s: float = Field(300.0, gt=0, description="longest back-off between retries")

    @field_validator("slot_minutes")
    @classmethod
    def _only_half_hours(cls, value: int) -> int:
        if value != SLOT_MINUTES:
            raise ValueError(f"only {SLOT_MINUTES}-minute slots are supported")
        return value

    def allocation_parameters(self) -> AllocationParameters:
        """The allocator's parameters."""
        return AllocationParameters(
            window_h=self.planning_window_h,
            freeze_horizon_min=self.freeze_horizon_min,
            turnaround_min=self.turnaround_min,
            reserve_soc_pct=self.min_soc_pct,
            charging_efficiency=self.charging_efficiency,
            max_routes_per_sequence=self.max_routes_per_sequence,
            max_driving_h=self.max_driving_h,
            covered_route_weight=self.covered_route_weight,
            keep_planned_weight=self.keep_planned_weight,
            keep_previous_weight=self.keep_previous_weight,
            energy_margin_weight=self.energy_margin_weight,
            vehicle_used_weight=self.vehicle_used_weight,
            time_limit_s=self.allocation_time_limit_s,
            mip_rel_gap=self.mip_rel_gap,
        )

    def schedule_site(self, *, fleet_charge_kw: float | None = None) -> SiteParameters:
        """The scheduler's site parameters.

        Without ``site_capacity_kw`` the site is limited only by the vehicles' own rates:
        pass their sum as ``fleet_charge_kw`` (a ``ValueError`` when neither is known).
        """
        capacity = self.site_capacity_kw if self.site_capacity_kw is not None else fleet_charge_kw
        if capacity is None:
            raise ValueError("site_capacity_kw is not set and no fleet charge rate was given")
        return SiteParameters(
            site_capacity_kw=capacity,
            target_soc_pct=self.target_soc_pct,
            triad_penalty_eur_per_kwh=self.triad_penalty_eur_per_kwh,
            time_preference_eur_per_kwh=self.time_preference_eur_per_kwh,
            shortfall_penalty_eur_per_kwh=self.shortfall_penalty_eur_per_kwh,
            reserve_soc_pct=self.min_soc_pct,
        )
