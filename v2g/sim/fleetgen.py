"""Seeded generation of a plausible depot fleet."""

from __future__ import annotations

import random

from fleet import Vehicle

# (battery kWh, AC charge kW, bidirectional discharge kW): vans, cars, trucks
_MODELS = ((75.0, 11.0, 10.0), (60.0, 7.4, 7.4), (40.0, 7.4, 6.0), (100.0, 22.0, 15.0))


def make_fleet(
    n: int,
    site_id: str = "10",
    *,
    seed: int = 0,
    offline: float = 0.03,
    unplugged: float = 0.1,
    prefix: str = "ev",
) -> list[Vehicle]:
    """``n`` vehicles at ``site_id`` with varied batteries, SoC, availability and wear."""
    rng = random.Random(seed)
    width = max(4, len(str(n)))
    fleet = []
    for i in range(n):
        battery, charge, discharge = rng.choice(_MODELS)
        fleet.append(
            Vehicle(
                vehicle_id=f"{prefix}{i:0{width}d}",
                site_id=site_id,
                soc_pct=round(rng.uniform(20.0, 95.0), 1),
                battery_kwh=battery,
                max_charge_kw=charge,
                max_discharge_kw=discharge,
                plugged_in=rng.random() >= unplugged,
                online=rng.random() >= offline,
                availability=round(rng.uniform(0.75, 1.0), 3),
                degradation=round(rng.uniform(0.0, 0.15), 3),
            )
        )
    return fleet
