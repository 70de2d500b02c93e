"""Seeding a site from a folder: CSV errors name file, line and column; the example seeds."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from v2g.seed import read_folder, seed_site, shift_to
from v2g.seed_csv import SeedError
from v2g.site_params import SiteParameterError
from v2g.storage import open_database, upgrade
from v2g.storage.market import prices_between
from v2g.storage.routes import routes_between
from v2g.storage.sites import get_site, load_site_config
from v2g.storage.vehicles import list_vehicles

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "site10"
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
VEHICLES = "vehicle_id,battery_kwh,max_charge_kw,soc_pct\nev1,60,11,50\n"


def folder(tmp_path: Path, **files: str) -> Path:
    """A seed folder holding ``files`` (name with ``_`` for ``.``: ``vehicles_csv``)."""
    path = tmp_path / "site"
    path.mkdir(exist_ok=True)
    for name, text in files.items():
        (path / name.replace("_csv", ".csv").replace("_toml", ".toml")).write_text(text)
    return path


def error_of(path: Path) -> SeedError:
    """The SeedError reading ``path`` raises."""
    with pytest.raises(SeedError) as caught:
        read_folder("10", path, now=NOW)
    return caught.value


def test_a_bad_number_names_file_line_and_column(tmp_path: Path) -> None:
    """``battery_kwh`` 'big' on the third line is reported there."""
    path = folder(tmp_path, vehicles_csv=VEHICLES + "ev2,big,11,50\n")
    error = error_of(path)
    assert (error.path.name, error.line, error.column) == ("vehicles.csv", 3, "battery_kwh")
    assert (
        str(error) == f"{path / 'vehicles.csv'}, line 3, column battery_kwh: 'big' is not a number"
    )


def test_a_value_out_of_range_names_its_column(tmp_path: Path) -> None:
    """A SoC of 120 % is refused by the model, against the CSV column."""
    error = error_of(folder(tmp_path, vehicles_csv=VEHICLES + "ev2,60,11,120\n"))
    assert (error.line, error.column) == (3, "soc_pct")
    assert "less than or equal to 100" in error.why


def test_a_bad_time_and_a_backwards_route_are_located(tmp_path: Path) -> None:
    """An unreadable time names its column; an end before the start names the line."""
    header = "route_id,vehicle_id,start,end,distance_km\n"
    bad_time = header + "r1,,2024-12-31T05:00Z,tomorrow,50\n"
    error = error_of(folder(tmp_path, routes_csv=bad_time))
    assert (error.path.name, error.line, error.column) == ("routes.csv", 2, "end")
    assert "'tomorrow' is not an ISO time" in str(error)
    backwards = header + "r1,,2024-12-31T05:00Z,2024-12-31T06:00Z,50\n"
    backwards += "r2,,2024-12-31T09:00Z,2024-12-31T08:00Z,50\n"
    error = error_of(folder(tmp_path, routes_csv=backwards))
    assert (error.line, error.column) == (3, None)
    assert "route r2: end must be after start" in str(error)


def test_columns_are_checked_against_the_format(tmp_path: Path) -> None:
    """Unknown columns suggest the right name; required ones must be there and filled."""
    error = error_of(folder(tmp_path, vehicles_csv="vehicle_id,batery_kwh\nev1,60\n"))
    assert (error.line, error.column) == (1, "batery_kwh")
    assert "did you mean 'battery_kwh'?" in str(error)
    error = error_of(folder(tmp_path, vehicles_csv="vehicle_id,battery_kwh\nev1,60\n"))
    assert (error.line, error.column, error.why) == (
        1,
        "max_charge_kw",
        "required column is missing",
    )
    error = error_of(folder(tmp_path, vehicles_csv=VEHICLES + "ev2,60,,50\n"))
    assert (error.line, error.column, error.why) == (3, "max_charge_kw", "empty cell")


def test_prices_in_mwh_are_converted_with_their_triad_flags(tmp_path: Path) -> None:
    """The ENTSO-E layout (EUR/MWh, ``start_utc``) reads as EUR/kWh; ``triad`` is optional."""
    csv = "start_utc,price_eur_per_mwh,triad\n2024-12-30T22:00:00Z,36.47,\n"
    csv += "2024-12-31T00:00:00Z,54.9,yes\n"
    data = read_folder("10", folder(tmp_path, prices_csv=csv), now=NOW)
    assert [(p.price_eur_per_kwh, p.triad) for p in data.prices] == [
        (pytest.approx(0.03647), False),
        (pytest.approx(0.0549), True),
    ]


def test_bad_parameters_in_the_folder_name_file_and_key(tmp_path: Path) -> None:
    """A parameters file is validated before anything is written."""
    path = folder(tmp_path, parameters_toml="turnaround_min = -1\n", vehicles_csv=VEHICLES)
    with pytest.raises(SiteParameterError, match=r"parameters.toml': turnaround_min = -1"):
        read_folder("10", path, now=NOW)


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    """A folder with none of the seed files says which files it looked for."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(SeedError, match=r"none of parameters\.toml, vehicles\.csv"):
        read_folder("10", tmp_path / "empty", now=NOW)


async def test_the_example_folder_seeds_and_seeding_again_changes_nothing(tmp_path: Path) -> None:
    """examples/site10 loads into SQLite: two parameter sets, 14 vans, 32 routes, real prices."""
    async with open_database(f"sqlite:///{tmp_path / 'v2g.db'}") as db:
        await upgrade(db)
        report = await seed_site(db, "10", EXAMPLE, now=NOW, name="example depot")
        assert report.parameter_sets == ("default", "triad")
        assert (report.vehicles, report.routes.inserted, report.prices) == (14, 32, 47)
        again = await seed_site(db, "10", EXAMPLE, now=NOW)
        assert (again.routes.inserted, again.routes.updated, again.routes.unchanged) == (0, 0, 32)
        site = await get_site(db, "10")
        assert site is not None
        assert site.name == "example depot"
        assert (await load_site_config(db, "10")).site_capacity_kw == 150.0
        assert len(await list_vehicles(db, "10")) == 14
        day = datetime(2024, 12, 31, tzinfo=UTC)
        assert len(await routes_between(db, "10", day, day.replace(hour=23, minute=59))) == 32
        prices = await prices_between(db, "10", day.replace(day=30), day)
        assert len(prices) == 23  # 2024-12-30 23:00 is missing from the real series
        assert prices[0].price_eur_per_kwh == pytest.approx(0.0762)


async def test_a_bad_file_writes_nothing(tmp_path: Path) -> None:
    """Every file is read before the first write: a bad routes.csv leaves the database empty."""
    path = tmp_path / "site10"
    shutil.copytree(EXAMPLE, path)
    with (path / "routes.csv").open("a") as f:
        f.write("r999,,not a time,2024-12-31T06:00Z,10,,,,planned\n")
    async with open_database(f"sqlite:///{tmp_path / 'v2g.db'}") as db:
        await upgrade(db)
        with pytest.raises(SeedError, match=r"routes.csv, line 34, column start"):
            await seed_site(db, "10", path, now=NOW)
        assert await get_site(db, "10") is None


def test_shift_moves_every_time_by_whole_hours() -> None:
    """--shift-to moves routes, prices, forecasts and vehicle states by the same whole hours."""
    when = datetime(2026, 11, 21, 10, 17, tzinfo=UTC)
    data = read_folder("10", EXAMPLE, now=when)
    shifted = shift_to(data, when)
    first = min(r.start for r in shifted.routes)
    assert when + timedelta(hours=1) <= first < when + timedelta(hours=2)
    delta = first - min(r.start for r in data.routes)
    assert delta % timedelta(hours=1) == timedelta(0)
    assert [p.start - delta for p in shifted.prices] == [p.start for p in data.prices]
    assert [p.price_eur_per_kwh for p in shifted.prices] == [
        p.price_eur_per_kwh for p in data.prices
    ]
    assert shifted.load_forecast[0].start == data.load_forecast[0].start + delta
    assert shifted.vehicles[0].state_at == data.vehicles[0].state_at + delta
