"""``v2g db seed``: load a site's folder of CSV and TOML files into the database.

A folder holds any of (see ``docs/storage.md`` for the columns):

* ``parameters.toml``: the site's ``default`` parameter set; ``parameters.NAME.toml``: set NAME;
* ``vehicles.csv``, ``routes.csv``: master data and the route plan (upserts: seeding twice
  changes nothing the second time);
* ``prices.csv`` (EUR/kWh, or EUR/MWh as the ENTSO-E series is published, with optional
  TRIAD flags) and ``load_forecast.csv``: each replaces the stored points of its span.

Every file is read and validated before anything is written; a bad row raises
:class:`~v2g.seed_csv.SeedError` naming the file, the line and the column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from allocation import Route
from scheduling import LoadPoint, PricePoint
from v2g.seed_csv import SeedError, read_models
from v2g.seed_tables import LOADS, PRICES_KWH, PRICES_MWH, csv_header, routes_table, vehicles_table
from v2g.site_params import parse_config, read_parameter_file
from v2g.storage.database import Database
from v2g.storage.market import put_load_forecast, put_prices
from v2g.storage.routes import UpsertCounts, upsert_routes
from v2g.storage.sites import put_parameter_set, upsert_site
from v2g.storage.vehicles import VehicleRecord, upsert_vehicles

FILES = ("parameters.toml", "vehicles.csv", "routes.csv", "prices.csv", "load_forecast.csv")


@dataclass(frozen=True)
class SeedData:
    """A folder's content, validated."""

    parameter_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    vehicles: list[VehicleRecord] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    prices: list[PricePoint] = field(default_factory=list)
    load_forecast: list[LoadPoint] = field(default_factory=list)


@dataclass(frozen=True)
class SeedReport:
    """What seeding wrote."""

    site_id: str
    parameter_sets: tuple[str, ...]
    vehicles: int
    routes: UpsertCounts
    prices: int
    load_points: int


def _parameter_sets(site_id: str, folder: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(folder.glob("parameters*.toml")):
        middle = path.name.removeprefix("parameters").removesuffix(".toml")
        name = middle.removeprefix(".") or "default"
        values = dict(read_parameter_file(path).values)
        parse_config(values, site_id=site_id, set_name=name, file=str(path))
        out[name] = values
    return out


def _prices(path: Path) -> list[PricePoint]:
    table = PRICES_MWH if "price_eur_per_mwh" in csv_header(path) else PRICES_KWH
    return read_models(path, table, PricePoint)


def read_folder(
    site_id: str, folder: Path, *, now: datetime, prices_file: Path | None = None
) -> SeedData:
    """Read and validate every seed file of ``folder`` (absent files are skipped)."""
    if not folder.is_dir():
        raise SeedError(folder, "no such folder")
    prices_path = prices_file or folder / "prices.csv"
    present = [folder / n for n in FILES if (folder / n).is_file()]
    if not present and not prices_path.is_file():
        raise SeedError(folder, f"none of {', '.join(FILES)} is here")
    data = SeedData(parameter_sets=_parameter_sets(site_id, folder))
    if (path := folder / "vehicles.csv").is_file():
        data.vehicles.extend(read_models(path, vehicles_table(site_id, now), VehicleRecord))
    if (path := folder / "routes.csv").is_file():
        data.routes.extend(read_models(path, routes_table(site_id), Route))
    if prices_path.is_file():
        data.prices.extend(_prices(prices_path))
    elif prices_file is not None:
        raise SeedError(prices_file, "no such file")
    if (path := folder / "load_forecast.csv").is_file():
        data.load_forecast.extend(read_models(path, LOADS, LoadPoint))
    return data


def shift_to(data: SeedData, when: datetime) -> SeedData:
    """``data`` moved by whole hours so its first route starts an hour or so after ``when``.

    Prices keep their hour boundaries and time-of-day shape; an example recorded on a past day
    becomes a plan for today (the service plans at the wall clock's time).
    """
    anchors = [r.start for r in data.routes] or [p.start for p in data.prices]
    if not anchors:
        return data
    target = when + timedelta(hours=1)
    hours = math.ceil((target - min(anchors)).total_seconds() / 3600)
    delta = timedelta(hours=hours)
    return replace(
        data,
        vehicles=[v.model_copy(update={"state_at": v.state_at + delta}) for v in data.vehicles],
        routes=[
            r.model_copy(update={"start": r.start + delta, "end": r.end + delta})
            for r in data.routes
        ],
        prices=[p.model_copy(update={"start": p.start + delta}) for p in data.prices],
        load_forecast=[p.model_copy(update={"start": p.start + delta}) for p in data.load_forecast],
    )


async def seed_site(
    db: Database,
    site_id: str,
    folder: Path,
    *,
    now: datetime,
    name: str | None = None,
    prices_file: Path | None = None,
    shift_to_time: datetime | None = None,
) -> SeedReport:
    """Read ``folder`` (all of it first), then upsert the site and everything it holds.

    ``shift_to_time``: move every time first (see :func:`shift_to`).
    """
    data = read_folder(site_id, folder, now=now, prices_file=prices_file)
    if shift_to_time is not None:
        data = shift_to(data, shift_to_time)
    await upsert_site(db, site_id, now=now, name=name)
    for set_name, values in data.parameter_sets.items():
        await put_parameter_set(db, site_id, set_name, values, now=now)
    await upsert_vehicles(db, data.vehicles, now=now)
    routes = await upsert_routes(db, site_id, data.routes, now=now)
    prices = await put_prices(db, site_id, data.prices)
    loads = await put_load_forecast(db, site_id, data.load_forecast)
    return SeedReport(
        site_id, tuple(data.parameter_sets), len(data.vehicles), routes, prices, loads
    )
