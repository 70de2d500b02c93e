"""Write the example site 10's seed files next to this script.

    python examples/site10/make_site10.py [PATH/TO/nl_day_ahead_2024.csv]

Deterministic. The prices are the real Dutch day-ahead prices of 2024-12-30 and 2024-12-31
(EUR/MWh, hour start in UTC) copied from the ENTSO-E series (default path: the shared data
folder next to the repository); that slice lacks the hour 2024-12-30 23:00, as the source does.
The evening peak hour (17:00 UTC) is flagged as a likely TRIAD. Fourteen vans, 32 routes on
2024-12-31 (one cancelled, one needing a crane no vehicle has), a depot load forecast.
"""

from __future__ import annotations

import csv
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
SHARED = HERE.parents[2] / "shared" / "data" / "nl_day_ahead_2024.csv"
DAY = datetime(2024, 12, 31, tzinfo=UTC)
STATE_AT = DAY + timedelta(hours=4)
DAYS = ("2024-12-30", "2024-12-31")


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%MZ")


def _write(name: str, header: list[str], rows: list[list[object]]) -> None:
    with (HERE / name).open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)


def prices(source: Path) -> None:
    """The two days of real prices, with a TRIAD flag on the evening peak hour."""
    with source.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["start_utc"][:10] in DAYS]
    out = [
        [r["start_utc"], r["price_eur_per_mwh"], "true" if r["start_utc"][11:13] == "17" else ""]
        for r in rows
    ]
    _write("prices.csv", ["start_utc", "price_eur_per_mwh", "triad"], out)


def vehicles(rng: random.Random) -> list[str]:
    """Fourteen vans; ev06 states no efficiency (the fleet average is used)."""
    rows: list[list[object]] = []
    for i in range(14):
        large = i % 4 == 3
        caps = " ".join(
            c for c, on in (("refrigerated", i % 5 == 1), ("tail_lift", i % 3 == 2)) if on
        )
        efficiency = (
            ""
            if i == 5
            else round(rng.uniform(0.26, 0.31) if large else rng.uniform(0.17, 0.24), 3)
        )
        rows.append(
            [
                f"ev{i + 1:02d}",
                "large_van" if large else "van",
                caps,
                100 if large else rng.choice((60, 75)),
                efficiency,
                22 if i % 3 == 0 else 11,
                11 if i % 3 == 0 else 7.4,
                round(rng.uniform(30, 90)),
                "true",
                _iso(STATE_AT),
            ]
        )
    header = ["vehicle_id", "vehicle_type", "capabilities", "battery_kwh"]
    header += ["efficiency_kwh_per_km", "max_charge_kw", "max_discharge_kw", "soc_pct"]
    _write("vehicles.csv", [*header, "plugged_in", "state_at"], rows)
    return [str(r[0]) for r in rows]


def routes(rng: random.Random, ids: list[str]) -> None:
    """32 routes from 05:00 to 21:00; most planned on a vehicle, as a depot planner would."""
    rows: list[list[object]] = []
    for i in range(32):
        start = DAY + timedelta(hours=5) + timedelta(minutes=30 * rng.randrange(0, 30))
        hours = rng.choice((2, 2.5, 3, 3.5, 4, 5))
        need_large = i % 9 == 4
        caps = "refrigerated" if i % 11 == 3 else ""
        caps = "crane" if i == 30 else caps
        rows.append(
            [
                f"r{i + 1:03d}",
                rng.choice(ids) if rng.random() < 0.8 and not need_large else "",
                _iso(start),
                _iso(start + timedelta(hours=hours)),
                round(rng.uniform(25, 38) * hours),
                "",
                "large_van" if need_large else "",
                caps,
                "cancelled" if i == 17 else "planned",
            ]
        )
    rows.sort(key=lambda r: (str(r[2]), str(r[0])))
    header = ["route_id", "vehicle_id", "start", "end", "distance_km", "energy_kwh"]
    _write("routes.csv", [*header, "vehicle_type", "required_capabilities", "status"], rows)


def load_forecast() -> None:
    """Depot load other than charging: 25 kW at night, 70 kW in working hours, half-hourly."""
    rows: list[list[object]] = []
    when = DAY - timedelta(hours=12)
    while when < DAY + timedelta(days=1):
        h = when.hour + when.minute / 60
        rows.append([_iso(when), 70 if 7 <= h < 18 else 25])
        when += timedelta(minutes=30)
    _write("load_forecast.csv", ["start", "load_kw"], rows)


def main() -> None:
    """Write every seed file of the example."""
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED
    rng = random.Random(10)
    prices(source)
    routes(rng, vehicles(rng))
    load_forecast()


if __name__ == "__main__":
    main()
