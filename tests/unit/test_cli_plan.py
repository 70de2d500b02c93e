"""``v2g db seed``, ``v2g plan`` and the ``--site-id`` forms of allocate and schedule."""

from __future__ import annotations

from pathlib import Path

import pytest

from allocation import AllocationResult
from scheduling import ChargePlan
from v2g.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "site10"
AT = ["--at", "2024-12-31T04:30Z"]


@pytest.fixture
def url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A SQLite file seeded from the example site."""
    database = f"sqlite:///{tmp_path / 'v2g.db'}"
    argv = ["db", "seed", "--site-id", "10", "--from", str(EXAMPLE), "--database-url", database]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "site 10 seeded" in out
    assert "32 new, 0 changed, 0 unchanged" in out
    return database


def test_plan_allocates_schedules_and_prints_tables(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example plans end to end: allocation and vehicle tables, progress on stderr."""
    assert main(["plan", "--site-id", "10", *AT, "--database-url", url]) == 0
    captured = capsys.readouterr()
    assert "30 of 31 routes covered" in captured.out
    assert "vehicle  routes" in captured.out
    assert "vehicle  charge_kwh  peak_kw" in captured.out
    assert "stored: allocation run " in captured.out
    assert "allocating 31 routes to 14 vehicles (initial" in captured.err
    assert "] scheduling 14 vehicles" in captured.err


def test_allocate_then_schedule_the_allocation(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``allocate --site-id`` stores and writes a result; ``schedule`` then reads it back."""
    out = tmp_path / "allocation.json"
    argv = ["allocate", "--site-id", "10", "--trigger-type", "initial", *AT, "--output", str(out)]
    assert main([*argv, "--database-url", url, "--solver", "greedy"]) == 0
    result = AllocationResult.model_validate_json(out.read_text())
    assert (result.site_id, result.solver) == ("10", "greedy")
    plan_file = tmp_path / "plan.json"
    argv = ["schedule", "--site-id", "10", "--route-source", "allocated", *AT]
    argv += ["--planning-window", "6", "--output", str(plan_file), "--database-url", url]
    assert main(argv) == 0
    plan = ChargePlan.model_validate_json(plan_file.read_text())
    assert plan.window.requested_h == 6
    assert "post_allocation" in capsys.readouterr().err


def test_schedule_in_independent_mode_reads_the_url_from_the_environment(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --database-url, V2G_DATABASE_URL is used; planned vehicles drive."""
    monkeypatch.setenv("V2G_DATABASE_URL", url)
    assert main(["schedule", "--site-id", "10", "--route-source", "planned", *AT]) == 0
    captured = capsys.readouterr()
    assert "(independent, window 2024-12-31T04:30Z + 12 h)" in captured.err
    assert "stored: schedule run " in captured.out


def test_a_bad_parameter_file_exits_2_naming_the_key(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An override file with a bad value stops the run before any solve."""
    params = tmp_path / "run.toml"
    params.write_text("freeze_horizon_min = -5\n", encoding="utf-8")
    argv = ["plan", "--site-id", "10", *AT, "--params", str(params), "--database-url", url]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"parameter file '{params}': freeze_horizon_min = -5" in err


def test_bad_flags_missing_prices_and_unknown_sites_exit_2(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each bad input names what is wrong: the key, the span, the site."""
    base = ["--database-url", url]
    assert main(["plan", "--site-id", "10", *AT, "--planning-window", "30", *base]) == 2
    assert "command line: schedule_window_h = 30.0" in capsys.readouterr().err
    assert main(["plan", "--site-id", "10", "--at", "2025-03-01T08:00Z", *base]) == 2
    assert "site 10: no prices from 2025-03-01T08:00Z" in capsys.readouterr().err
    assert main(["plan", "--site-id", "99", *AT, *base]) == 2
    assert "site 99 is not in the database" in capsys.readouterr().err


def test_an_unmigrated_database_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Planning on an empty file says to upgrade the schema first."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["plan", "--site-id", "10", "--database-url", url]) == 2
    assert "v2g db upgrade" in capsys.readouterr().err


def test_the_file_forms_still_need_output(capsys: pytest.CaptureFixture[str]) -> None:
    """``--input`` without ``--output`` is refused; --input and --site-id exclude each other."""
    day = EXAMPLE.parent / "depot_day.json"
    assert main(["allocate", "--input", str(day)]) == 2
    assert "--output is required with --input" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["schedule", "--input", "x.json", "--site-id", "10"])


def test_seeding_a_bad_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad CSV row is reported with file, line and column."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "vehicles.csv").write_text("vehicle_id,battery_kwh\nev1,x\n")
    url = f"sqlite:///{tmp_path / 'v2g.db'}"
    argv = ["db", "seed", "--site-id", "10", "--from", str(tmp_path / "site")]
    assert main([*argv, "--database-url", url]) == 2
    assert "vehicles.csv, line 1, column max_charge_kw" in capsys.readouterr().err
