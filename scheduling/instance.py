"""The numeric form of a scheduling problem: arrays over vehicles x slots.

Every solution method (structured solver, LP, greedy) and the plan report work on a
:class:`ChargeInstance`. Powers are kW, energies kWh, costs EUR/kWh of energy charged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from scheduling.models import SLOT_H, ScheduleProblem
from scheduling.plan import WindowAdaptation
from scheduling.requirements import Checkpoint, checkpoints, routes_by_vehicle
from scheduling.slots import (
    sample_load,
    sample_prices,
    slot_index_ceil,
    slot_index_floor,
    slot_starts,
)
from scheduling.window import adapt_window
from solvers.model import FloatArray

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

UNMET_PENALTY_FACTOR = 1000.0


@dataclass(frozen=True, eq=False)
class ChargeInstance:
    """Arrays of one problem. ``cp_*`` arrays describe the checkpoints, one per departure.

    Checkpoints are grouped by vehicle and in departure order within a vehicle. Checkpoint ``c``
    of vehicle ``cp_vehicle[c]`` counts the energy charged in slots ``0 .. cp_slot[c] - 1``
    (those that end by the departure); its route leaves in slot ``cp_slot[c]`` (``n_slots``
    when it leaves at or after the window's end).
    """

    site_id: str
    window_start: datetime
    vehicle_ids: tuple[str, ...]
    available: BoolArray  # (V, T)
    rate_kw: FloatArray  # (V,)
    soc_kwh: FloatArray  # (V,) energy in the battery now
    headroom_kwh: FloatArray  # (V,) battery minus current energy
    target_need_kwh: FloatArray  # (V,) energy to reach the target SoC, at most the headroom
    cp_vehicle: IntArray  # (C,)
    cp_slot: IntArray  # (C,)
    cp_required_kwh: FloatArray  # (C,) as specified
    cp_cumulative_kwh: FloatArray  # (C,) route energy of this and earlier routes
    cp_route_id: tuple[str, ...]
    cp_departure: tuple[datetime, ...]
    price_eur_per_kwh: FloatArray  # (T,)
    triad: BoolArray  # (T,)
    triad_penalty_eur_per_kwh: float
    time_preference_eur_per_kwh: float
    capacity_kw: FloatArray  # (T,) site capacity minus forecast, at least 0
    shortfall_penalty_eur_per_kwh: float
    window: WindowAdaptation
    slot_h: float = SLOT_H
    unmet_penalty_eur_per_kwh: float = field(init=False)

    def __post_init__(self) -> None:
        spread = float(np.max(np.abs(self.cost_eur_per_kwh), initial=0.0))
        penalty = UNMET_PENALTY_FACTOR * (1.0 + spread + self.shortfall_penalty_eur_per_kwh)
        object.__setattr__(self, "unmet_penalty_eur_per_kwh", penalty)

    @property
    def n_vehicles(self) -> int:
        """V."""
        return len(self.vehicle_ids)

    @property
    def n_slots(self) -> int:
        """T."""
        return int(self.price_eur_per_kwh.shape[0])

    @property
    def time_price_eur_per_kwh(self) -> FloatArray:
        """Synthetic time price per slot: ``factor * t / n_slots`` (earlier slots cheaper)."""
        t = np.arange(self.n_slots, dtype=np.float64)
        return self.time_preference_eur_per_kwh * t / max(self.n_slots, 1)

    @property
    def triad_price_eur_per_kwh(self) -> FloatArray:
        """TRIAD penalty per slot."""
        return np.where(self.triad, self.triad_penalty_eur_per_kwh, 0.0)

    @property
    def cost_eur_per_kwh(self) -> FloatArray:
        """Effective price per slot: price + time preference + TRIAD penalty."""
        return self.price_eur_per_kwh + self.time_price_eur_per_kwh + self.triad_price_eur_per_kwh

    @cached_property
    def cp_route_kwh(self) -> FloatArray:
        """(C,) energy of each checkpoint's own route."""
        c = self.cp_cumulative_kwh
        prev = np.zeros_like(c)
        if c.size:
            same = self.cp_vehicle[1:] == self.cp_vehicle[:-1]
            prev[1:] = np.where(same, c[:-1], 0.0)
        out: FloatArray = c - prev
        return out

    @cached_property
    def cp_cap_kwh(self) -> FloatArray:
        """(C,) most energy the vehicle may have charged by the departure (battery cap).

        Just before the route leaves the battery holds ``soc + charged - earlier routes``, which
        must not exceed the battery: ``charged <= headroom + energy of the earlier routes``.
        """
        before = self.cp_cumulative_kwh - self.cp_route_kwh
        out: FloatArray = self.headroom_kwh[self.cp_vehicle] + before
        return out

    @property
    def final_cap_kwh(self) -> FloatArray:
        """(V,) most energy each vehicle may charge over the window (battery cap at its end)."""
        out: FloatArray = self.energy_cap_kwh[:, -1]
        return out

    @cached_property
    def driven_kwh(self) -> FloatArray:
        """(V, T+1) energy of the vehicle's routes that left before each slot boundary.

        A route leaves in slot ``cp_slot``, so it counts from boundary ``cp_slot + 1``; one
        leaving at or after the window's end never counts.
        """
        left = np.zeros((self.n_vehicles, self.n_slots + 1))
        inside = self.cp_slot < self.n_slots
        np.add.at(
            left,
            (self.cp_vehicle[inside], self.cp_slot[inside] + 1),
            self.cp_route_kwh[inside],
        )
        out: FloatArray = np.cumsum(left, axis=1)
        return out

    @cached_property
    def energy_cap_kwh(self) -> FloatArray:
        """(V, T+1) most energy charged by each slot boundary: the battery never overflows.

        At boundary ``t`` the battery holds ``soc + charged - driven``, at most the battery.
        """
        out: FloatArray = self.headroom_kwh[:, None] + self.driven_kwh
        return out

    @property
    def slot_kwh(self) -> FloatArray:
        """(V, T) energy one slot at full rate delivers, zero where unavailable."""
        return np.where(self.available, self.rate_kw[:, None] * self.slot_h, 0.0)


def _availability(problem: ScheduleProblem, ids: list[str], n_slots: int) -> BoolArray:
    index = {vid: i for i, vid in enumerate(ids)}
    available = np.ones((len(ids), n_slots), dtype=bool)
    for vid, routes in routes_by_vehicle(problem).items():
        for r in routes:
            first = max(0, slot_index_floor(problem.window_start, r.departure))
            last = min(n_slots, slot_index_ceil(problem.window_start, r.return_at))
            if r.return_at == r.departure:
                last = min(n_slots, first + 1)
            if first < last:
                available[index[vid], first:last] = False
    return available


def build_instance(problem: ScheduleProblem) -> ChargeInstance:
    """Turn a validated problem into arrays, adapting the window to its departures."""
    cps = checkpoints(problem)
    n_slots, window = adapt_window(
        problem.window_start, problem.planning_window_h, cps, enabled=problem.adapt_window
    )
    dropped = set(window.beyond_horizon)
    kept: list[Checkpoint] = [c for c in cps if c.route_id not in dropped]
    ids = [v.vehicle_id for v in problem.vehicles]
    index = {vid: i for i, vid in enumerate(ids)}
    starts = slot_starts(problem.window_start, n_slots)
    price, triad = sample_prices(problem.prices, starts, site_id=problem.site_id)
    load = sample_load(problem.load_forecast, starts)
    site = problem.site
    battery = np.array([v.battery_kwh for v in problem.vehicles], dtype=np.float64)
    soc = np.array([v.soc_kwh for v in problem.vehicles], dtype=np.float64)
    headroom = np.maximum(battery - soc, 0.0)
    target = battery * site.target_soc_pct / 100
    return ChargeInstance(
        site_id=problem.site_id,
        window_start=problem.window_start,
        vehicle_ids=tuple(ids),
        available=_availability(problem, ids, n_slots),
        rate_kw=np.array([v.ac_charge_rate_kw for v in problem.vehicles], dtype=np.float64),
        soc_kwh=soc,
        headroom_kwh=headroom,
        target_need_kwh=np.clip(target - soc, 0.0, headroom),
        cp_vehicle=np.array([index[c.vehicle_id] for c in kept], dtype=np.int64),
        cp_slot=np.array(
            [
                min(n_slots, max(0, slot_index_floor(problem.window_start, c.departure)))
                for c in kept
            ],
            dtype=np.int64,
        ),
        cp_required_kwh=np.array([c.required_kwh for c in kept], dtype=np.float64),
        cp_cumulative_kwh=np.array([c.cumulative_kwh for c in kept], dtype=np.float64),
        cp_route_id=tuple(c.route_id for c in kept),
        cp_departure=tuple(c.departure for c in kept),
        price_eur_per_kwh=price,
        triad=triad,
        triad_penalty_eur_per_kwh=site.triad_penalty_eur_per_kwh,
        time_preference_eur_per_kwh=site.time_preference_eur_per_kwh,
        capacity_kw=np.maximum(site.site_capacity_kw - load, 0.0),
        shortfall_penalty_eur_per_kwh=site.shortfall_penalty_eur_per_kwh,
        window=window,
    )
