"""``v2g allocate``, ``v2g simulate-day`` and the allocation file formats in ``v2g schema``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allocation import AllocationResult, DepotDay, RouteStatus, check_allocation
from v2g.cli import main
from v2g.schemas import all_schemas

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "depot_day.json"


def test_allocate_writes_a_valid_allocation_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example day allocates to a result the checker accepts; the summary explains gaps."""
    out = tmp_path / "allocation.json"
    assert main(["allocate", "--input", str(EXAMPLE), "--output", str(out)]) == 0
    day = DepotDay.model_validate_json(EXAMPLE.read_text())
    result = AllocationResult.model_validate_json(out.read_text())
    assert check_allocation(day, result) == []
    text = capsys.readouterr().out
    assert f"{result.routes_covered} of {result.routes_in_window} routes covered" in text
    assert "no_feasible_vehicle" in text


def test_allocate_reruns_a_cancellation_from_the_previous_allocation(tmp_path: Path) -> None:
    """--trigger cancellation with --previous changes only the cancelled route."""
    first = tmp_path / "first.json"
    assert main(["allocate", "--input", str(EXAMPLE), "--output", str(first)]) == 0
    before = AllocationResult.model_validate_json(first.read_text())
    gone = before.assignments[0].route_ids[-1]
    data = json.loads(EXAMPLE.read_text())
    for r in data["routes"]:
        if r["route_id"] == gone:
            r["status"] = RouteStatus.CANCELLED.value
    day_file = tmp_path / "day.json"
    day_file.write_text(json.dumps(data))
    second = tmp_path / "second.json"
    argv = ["allocate", "--input", str(day_file), "--output", str(second)]
    argv += ["--trigger", "cancellation", "--previous", str(first), "--solver", "pulp"]
    assert main(argv) == 0
    after = AllocationResult.model_validate_json(second.read_text())
    assert after.trigger == "cancellation"
    assert after.solver == "pulp"
    assert [(c.route_id, c.after) for c in after.changes] == [(gone, None)]


def test_allocate_overrides_start_and_window(tmp_path: Path) -> None:
    """--start-time (zone-less means UTC) and --window-hours reach the allocator."""
    out = tmp_path / "a.json"
    argv = ["allocate", "--input", str(EXAMPLE), "--output", str(out), "--solver", "greedy"]
    assert main([*argv, "--start-time", "2026-02-11 10:00", "--window-hours", "6"]) == 0
    result = AllocationResult.model_validate_json(out.read_text())
    assert result.window_start.isoformat() == "2026-02-11T10:00:00+00:00"
    assert result.window_end.isoformat() == "2026-02-11T16:00:00+00:00"
    assert result.solver == "greedy"
    assert any(u.reason == "start_passed" for u in result.unallocated)


def test_allocate_refuses_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid day is a usage error (exit 2) naming the problem."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"window_start": "2026-02-11T04:30:00Z", "routes": []}))
    assert main(["allocate", "--input", str(bad), "--output", str(tmp_path / "o.json")]) == 2
    assert "vehicles" in capsys.readouterr().err


def test_simulate_day_runs_end_to_end_and_passes_every_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Allocation, scheduling, a cancellation and the re-run all pass their checkers."""
    argv = ["simulate-day", "--start-time", "2026-02-11 04:30", "--window-hours", "18"]
    assert main([*argv, "--seed", "5", "--routes", "30"]) == 0
    text = capsys.readouterr().out
    assert "initial" in text
    assert "cancellation" in text
    assert "charge plan (post-allocation)" in text
    assert "stability: kept" in text
    assert text.rstrip().endswith("all checks passed")


def test_schema_lists_the_allocation_formats() -> None:
    """`v2g schema` includes the day and the result."""
    schemas = all_schemas()
    assert "routes" in schemas["allocation-day"]["properties"]
    assert "assignments" in schemas["allocation-result"]["properties"]
