"""The seed CSV formats: which columns each file has and the model a row becomes."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from allocation import Route
from scheduling import LoadPoint, PricePoint
from v2g.seed_csv import Column, SeedError, Table, parse_bool, parse_float, parse_set, parse_time
from v2g.storage.vehicles import VehicleRecord


def csv_header(path: Path) -> list[str]:
    """The header line's column names."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            return [c.strip() for c in next(csv.reader(f), [])]
    except OSError as exc:
        raise SeedError(path, exc.strerror or str(exc)) from exc


def vehicles_table(site_id: str, now: datetime) -> Table:
    """``vehicles.csv``: master data and the state at ``state_at`` (default: seeding time)."""

    def build(values: dict[str, Any]) -> VehicleRecord:
        return VehicleRecord.model_validate({"site_id": site_id, "state_at": now, **values})

    return Table(
        columns=(
            Column("vehicle_id", "vehicle_id"),
            Column("vehicle_type", "vehicle_type"),
            Column("capabilities", "capabilities", parse_set),
            Column("battery_kwh", "battery_kwh", parse_float),
            Column("efficiency_kwh_per_km", "efficiency_kwh_per_km", parse_float),
            Column("max_charge_kw", "max_charge_kw", parse_float),
            Column("max_discharge_kw", "max_discharge_kw", parse_float),
            Column("soc_pct", "soc_pct", parse_float),
            Column("plugged_in", "plugged_in", parse_bool),
            Column("state_at", "state_at", parse_time),
        ),
        required=frozenset({"vehicle_id", "battery_kwh", "max_charge_kw", "soc_pct"}),
        build=build,
    )


def routes_table(site_id: str) -> Table:
    """``routes.csv``: the route plan; ``vehicle_id`` is the planner's vehicle (optional)."""

    def build(values: dict[str, Any]) -> Route:
        return Route.model_validate({"site_id": site_id, **values})

    return Table(
        columns=(
            Column("route_id", "route_id"),
            Column("vehicle_id", "planned_vehicle_id"),
            Column("start", "start", parse_time),
            Column("end", "end", parse_time),
            Column("distance_km", "distance_km", parse_float),
            Column("energy_kwh", "energy_kwh", parse_float),
            Column("vehicle_type", "vehicle_type"),
            Column("required_capabilities", "required_capabilities", parse_set),
            Column("status", "status"),
        ),
        required=frozenset({"route_id", "start", "end"}),
        build=build,
    )


def _mwh(text: str) -> float:
    return parse_float(text) / 1000.0


_START = (Column("start", "start", parse_time), Column("start_utc", "start", parse_time))
_TRIAD = Column("triad", "triad", parse_bool)
PRICES_KWH = Table(
    columns=(*_START, Column("price_eur_per_kwh", "price_eur_per_kwh", parse_float), _TRIAD),
    required=frozenset({"start", "price_eur_per_kwh"}),
    build=PricePoint.model_validate,
)
PRICES_MWH = Table(
    columns=(*_START, Column("price_eur_per_mwh", "price_eur_per_kwh", _mwh), _TRIAD),
    required=frozenset({"start", "price_eur_per_kwh"}),
    build=PricePoint.model_validate,
)
LOADS = Table(
    columns=(*_START, Column("load_kw", "load_kw", parse_float)),
    required=frozenset({"start", "load_kw"}),
    build=LoadPoint.model_validate,
)
