"""Write ``depot_scenario.json`` from the real Dutch day-ahead prices in this folder.

    python examples/make_depot_scenario.py

The price slice (``nl_day_ahead_2024-12-30_31.csv``, EUR/MWh, hour start in UTC) is copied
from the ENTSO-E series; it lacks the hour 2024-12-30 23:00, which the scheduler covers with
the price of the hour before. Twelve vans, routes next morning, one van with no efficiency of
its own (fleet average used), one route departing past the 12 h window (the window grows), one
van back too late to charge for its next route (reported as unmet).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
START = datetime(2024, 12, 30, 14, 0, tzinfo=UTC)


def _prices() -> list[dict[str, object]]:
    with (HERE / "nl_day_ahead_2024-12-30_31.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        start = datetime.fromisoformat(row["start_utc"].replace("Z", "+00:00"))
        out.append(
            {
                "start": start.isoformat(),
                "price_eur_per_kwh": float(row["price_eur_per_mwh"]) / 1000,
                "triad": start.hour == 17,  # the evening peak hour is flagged as a likely TRIAD
            }
        )
    return out


def _at(hours: float) -> str:
    return (START + timedelta(hours=hours)).isoformat()


def main() -> None:
    """Build the scenario and write it next to this script."""
    vehicles = []
    routes = []
    for i in range(12):
        vid = f"van{i + 1:02d}"
        vehicles.append(
            {
                "vehicle_id": vid,
                "battery_kwh": 75.0 if i % 3 else 100.0,
                "ac_charge_rate_kw": 11.0 if i % 4 else 22.0,
                "efficiency_kwh_per_km": None if i == 5 else round(0.18 + 0.01 * (i % 5), 3),
                "soc_pct": 20.0 + 5 * (i % 7),
            }
        )
    for i, v in enumerate(vehicles):
        vid = str(v["vehicle_id"])
        if i < 10:  # evening return already done; one route in the morning
            dep = 15.5 + 0.5 * (i % 4)  # 05:30 to 07:00 UTC next day
            routes.append(
                {
                    "route_id": f"{vid}-am",
                    "vehicle_id": vid,
                    "departure": _at(dep),
                    "return_at": _at(dep + 8),
                    "distance_km": 140.0 + 10 * (i % 5),
                }
            )
    routes.append(  # still out on a late route, back at 22:00, departs again at 23:00
        {
            "route_id": "van11-late",
            "vehicle_id": "van11",
            "departure": _at(-2),
            "return_at": _at(8),
            "distance_km": 120.0,
        }
    )
    routes.append(
        {
            "route_id": "van11-night",
            "vehicle_id": "van11",
            "departure": _at(9),
            "return_at": _at(13),
            "distance_km": 260.0,
        }
    )
    routes.append(  # past the 12 h window: the window grows to cover it
        {
            "route_id": "van12-am",
            "vehicle_id": "van12",
            "departure": _at(17.5),
            "return_at": _at(23),
            "distance_km": 220.0,
        }
    )
    scenario = {
        "site_id": "depot-nl-01",
        "window_start": START.isoformat(),
        "planning_window_h": 12,
        "mode": "independent",
        "vehicles": vehicles,
        "routes": routes,
        "prices": _prices(),
        "load_forecast": [
            {"start": _at(h), "load_kw": 40.0 if 2 <= (14 + h) % 24 <= 8 else 70.0}
            for h in range(24)
        ],
        "site": {
            "site_capacity_kw": 130.0,
            "target_soc_pct": 80.0,
            "triad_penalty_eur_per_kwh": 0.5,
            "time_preference_eur_per_kwh": 0.005,
            "shortfall_penalty_eur_per_kwh": 0.3,
        },
    }
    (HERE / "depot_scenario.json").write_text(
        json.dumps(scenario, indent=2) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
