"""Synthetic depot scenarios of any size, for tests, benchmarks and demos.

Deterministic for a given seed (a local ``numpy.random.Generator``; no global state). Prices
are passed in, so real price series can drive synthetic fleets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import numpy as np

from scheduling.models import (
    LoadPoint,
    PricePoint,
    Route,
    ScheduleProblem,
    SiteParameters,
    VehicleSpec,
)

_RATES_KW = (7.4, 11.0, 22.0)
_BATTERIES_KWH = (60.0, 75.0, 100.0)


def synthetic_problem(
    n_vehicles: int,
    *,
    window_start: datetime,
    prices_eur_per_kwh: Iterable[float],
    window_h: float = 24.0,
    seed: int = 0,
    capacity_share: float = 0.3,
    max_routes: int = 3,
    triad_slots: Sequence[int] = (),
    time_preference_eur_per_kwh: float = 0.01,
) -> ScheduleProblem:
    """A fleet with 0..max_routes routes each, and a site that fits ``capacity_share`` of it.

    ``prices_eur_per_kwh`` has one value per 30-minute slot of the window.
    """
    rng = np.random.default_rng(seed)
    slot = timedelta(minutes=30)
    n_slots = round(window_h * 2)
    vehicles = []
    routes = []
    for i in range(n_vehicles):
        vid = f"ev{i:05d}"
        battery = float(rng.choice(_BATTERIES_KWH))
        own = i == 0 or rng.random() >= 0.1  # some vans use the fleet average
        efficiency = float(rng.uniform(0.15, 0.3)) if own else None
        vehicles.append(
            VehicleSpec(
                vehicle_id=vid,
                battery_kwh=battery,
                ac_charge_rate_kw=float(rng.choice(_RATES_KW, p=(0.3, 0.5, 0.2))),
                efficiency_kwh_per_km=efficiency,
                soc_pct=float(rng.uniform(15, 70)),
            )
        )
        t = int(rng.integers(4, 20))
        for j in range(int(rng.integers(0, max_routes + 1))):
            duration = int(rng.integers(3, 12))
            if t + 1 >= n_slots:
                break
            departure = window_start + t * slot + timedelta(minutes=int(rng.integers(0, 30)))
            distance = float(rng.uniform(20, 150))
            routes.append(
                Route(
                    route_id=f"{vid}-r{j}",
                    vehicle_id=vid,
                    departure=departure,
                    return_at=departure + duration * slot,
                    distance_km=distance,
                )
            )
            t += duration + int(rng.integers(1, 6))
    fleet_kw = sum(v.ac_charge_rate_kw for v in vehicles)
    base_load = 0.1 * fleet_kw
    load = [
        LoadPoint(
            start=window_start + i * slot,
            load_kw=base_load * (1.0 + 0.5 * np.sin(2 * np.pi * i / max(n_slots, 1))),
        )
        for i in range(n_slots)
    ]
    triad = set(triad_slots)
    prices = [
        PricePoint(start=window_start + i * slot, price_eur_per_kwh=float(p), triad=i in triad)
        for i, p in enumerate(prices_eur_per_kwh)
    ]
    return ScheduleProblem(
        site_id="synthetic",
        window_start=window_start,
        planning_window_h=window_h,
        vehicles=tuple(vehicles),
        routes=tuple(routes),
        prices=tuple(prices),
        load_forecast=tuple(load),
        site=SiteParameters(
            site_capacity_kw=capacity_share * fleet_kw + 1.5 * base_load,
            target_soc_pct=80.0,
            triad_penalty_eur_per_kwh=2.0,
            time_preference_eur_per_kwh=time_preference_eur_per_kwh,
            shortfall_penalty_eur_per_kwh=0.5,
        ),
    )
