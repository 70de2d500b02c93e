"""The independent checker catches broken plans; the CLI writes plans, plots and schemas."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from scheduling import ChargePlan, ScheduleProblem, check_plan, schedule
from tests.scheduling.builders import problem, route, vehicle
from v2g.cli_schedule import register
from v2g.schemas import SCHEMAS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "depot_scenario.json"


def _with_power(plan: ChargePlan, vehicle_index: int, slot: int, kw: float) -> ChargePlan:
    vehicles = list(plan.vehicles)
    power = list(vehicles[vehicle_index].power_kw)
    power[slot] = kw
    vehicles[vehicle_index] = vehicles[vehicle_index].model_copy(update={"power_kw": tuple(power)})
    return plan.model_copy(update={"vehicles": tuple(vehicles)})


def test_checker_flags_every_kind_of_broken_constraint() -> None:
    """Rate, availability, site capacity, SoC cap and departure energy are each caught."""
    p = problem(
        [vehicle("a", soc_pct=0), vehicle("b", soc_pct=95)],
        [route("ra", "a", 1, 2, energy_kwh=5)],
        capacity_kw=15.0,
    )
    plan = schedule(p)
    assert check_plan(p, plan) == []
    kinds = {v.constraint for v in check_plan(p, _with_power(plan, 0, 0, 30.0))}
    assert {"rate", "site_capacity"} <= kinds
    assert {v.constraint for v in check_plan(p, _with_power(plan, 0, 2, 1.0))} == {"availability"}
    assert "soc_cap" in {v.constraint for v in check_plan(p, _with_power(plan, 1, 5, 11.0))}
    starved = plan
    for t in range(2):
        starved = _with_power(starved, 0, t, 0.0)
    assert [v.constraint for v in check_plan(p, starved)] == ["departure_energy"]


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="v2g")
    register(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_cli_schedules_the_example_and_writes_plan_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example scenario schedules to a valid plan, a PNG, and a summary with savings."""
    out, png = tmp_path / "plan.json", tmp_path / "plan.png"
    assert _cli("schedule", "--input", str(EXAMPLE), "--output", str(out), "--plot", str(png)) == 0
    plan = ChargePlan.model_validate_json(out.read_text())
    scenario = ScheduleProblem.model_validate_json(EXAMPLE.read_text())
    assert check_plan(scenario, plan) == []
    assert png.stat().st_size > 0
    text = capsys.readouterr().out
    assert "uncontrolled charging" in text
    assert "window grown" in text
    assert "unmet: van11" in text


def test_cli_overrides_the_window_and_picks_the_solver(tmp_path: Path) -> None:
    """--planning-window and --solver greedy reach the scheduler."""
    out = tmp_path / "plan.json"
    code = _cli(
        "schedule",
        "--input",
        str(EXAMPLE),
        "--output",
        str(out),
        "--planning-window",
        "24",
        "--solver",
        "greedy",
    )
    assert code == 0
    plan = ChargePlan.model_validate_json(out.read_text())
    assert plan.solver == "greedy"
    assert plan.n_slots == 48


def test_cli_refuses_a_bad_scenario_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid file is reported on stderr, not raised."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"vehicles": []}))
    assert _cli("schedule", "--input", str(bad), "--output", str(tmp_path / "p.json")) == 2
    assert "v2g schedule" in capsys.readouterr().err


def test_schema_prints_every_registered_format(capsys: pytest.CaptureFixture[str]) -> None:
    """v2g schema prints one JSON object, name -> JSON Schema, for every registered model."""
    assert _cli("schema") == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == set(SCHEMAS)
    assert printed["schedule-plan"]["title"] == "ChargePlan"
