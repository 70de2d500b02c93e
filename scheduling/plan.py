"""Output models: the charge plan (the ``plan.json`` file format)."""

from __future__ import annotations

import enum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlanStatus(enum.StrEnum):
    """Outcome of a schedule."""

    OPTIMAL = "optimal"  # the LP optimum; every route's energy is there at departure
    OPTIMAL_WITH_UNMET = "optimal_with_unmet"  # the LP optimum, some route energy is missing
    FEASIBLE = "feasible"  # a plan meeting every hard constraint, not proven optimal (greedy)
    FEASIBLE_WITH_UNMET = "feasible_with_unmet"  # as above, some route energy is missing


class UnmetReason(enum.StrEnum):
    """Why a route's energy is missing at departure."""

    PHYSICAL = "physical"  # too little time, rate, battery or site capacity for this vehicle alone
    SITE_CAPACITY = "site_capacity"  # vehicles compete for too little site capacity


class UnmetRequirement(_Frozen):
    """Energy missing in the battery at a route's departure (cumulative over earlier routes)."""

    vehicle_id: str
    route_id: str
    departure: AwareDatetime
    required_kwh: float
    missing_kwh: float = Field(gt=0)
    reason: UnmetReason


class WindowAdaptation(_Frozen):
    """What the dynamic window adaptation did."""

    requested_h: float
    used_h: float
    extended_for: tuple[str, ...] = Field(
        default=(), description="route ids whose departure made the window grow"
    )
    beyond_horizon: tuple[str, ...] = Field(
        default=(), description="route ids needing energy that depart past the 24 h limit"
    )

    @property
    def adapted(self) -> bool:
        """True when the window grew."""
        return self.used_h > self.requested_h


class CostBreakdown(_Frozen):
    """The objective, split by term (EUR)."""

    energy_eur: float
    triad_eur: float
    time_preference_eur: float
    shortfall_penalty_eur: float
    unmet_penalty_eur: float = 0.0

    @property
    def total_eur(self) -> float:
        """Sum of every term (the objective value)."""
        return (
            self.energy_eur
            + self.triad_eur
            + self.time_preference_eur
            + self.shortfall_penalty_eur
            + self.unmet_penalty_eur
        )


class Baseline(_Frozen):
    """Uncontrolled charging: every vehicle at full rate from arrival, same energy as the plan."""

    energy_eur: float
    triad_eur: float
    peak_site_kw: float
    savings_eur: float = Field(description="baseline energy + TRIAD cost minus the plan's")


class VehiclePlan(_Frozen):
    """One vehicle's schedule: charging power per slot and the resulting energy."""

    vehicle_id: str
    power_kw: tuple[float, ...]
    soc_kwh: tuple[float, ...] = Field(
        description="battery energy at the start of each slot and at the end (n_slots + 1)"
    )
    energy_kwh: float
    target_shortfall_kwh: float


class ChargePlan(_Frozen):
    """The scheduler's answer for one site and window."""

    site_id: str
    status: PlanStatus
    solver: str = Field(description="'structured', a solver backend name, or 'greedy'")
    fallback_reason: str | None = None
    runtime_s: float
    window_start: AwareDatetime
    slot_minutes: int
    n_slots: int
    window: WindowAdaptation
    price_eur_per_kwh: tuple[float, ...]
    headroom_kw: tuple[float, ...] = Field(description="site capacity minus forecast, per slot")
    vehicles: tuple[VehiclePlan, ...]
    unmet: tuple[UnmetRequirement, ...] = ()
    costs: CostBreakdown
    baseline: Baseline

    @property
    def site_power_kw(self) -> tuple[float, ...]:
        """Total charging power per slot."""
        return tuple(sum(v.power_kw[t] for v in self.vehicles) for t in range(self.n_slots))
