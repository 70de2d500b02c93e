"""``v2g allocate`` and ``v2g simulate-day``: the route allocator on files, and a simulated day.

    v2g allocate --input day.json --output allocation.json [--trigger initial]
                 [--start-time ISO] [--window-hours 18] [--previous allocation.json]
                 [--solver highs|pulp|hexaly|greedy] [--time-limit S]
    v2g allocate --site-id 10 [--trigger-type initial] [--at ISO] [--params FILE] ...
                 (the database form: see :mod:`v2g.cli_plan`)
    v2g simulate-day [--start-time "2026-02-11 04:30"] [--window-hours 18] [--seed N]
                     [--input day.json] [--routes N] [--vehicles N] [--cancel-at ISO]
                     [--solver ...] [--time-limit S]

Times without a zone are UTC. A re-run (any trigger but ``initial``) reads the previous
allocation from ``--previous``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from allocation import (
    AllocateOptions,
    AllocationError,
    AllocationResult,
    DepotDay,
    Method,
    Trigger,
    allocate,
    synthetic_day,
)
from scheduling import ChargePlan
from solvers import HexalySolver, HighsSolver, PulpSolver, Solver
from v2g.cli_schedule import SOLVER_CHOICES, hexaly_licence
from v2g.cli_site import add_site_options
from v2g.simulate_day import DayReport, Step, simulate_day
from v2g.table import render_table

_TOP = 15


def _when(text: str) -> datetime:
    """An ISO time; UTC when it names no zone."""
    parsed = datetime.fromisoformat(text.strip())
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``allocate`` and ``simulate-day`` subcommands."""
    a = subparsers.add_parser("allocate", help="allocate a depot day's routes to vehicles")
    source = a.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, help="depot day JSON (v2g schema)")
    source.add_argument("--site-id", help="allocate this site from the database")
    a.add_argument("--output", type=Path, help="where to write the allocation (--input: needed)")
    a.add_argument(
        "--trigger", "--trigger-type", choices=[t.value for t in Trigger], default="initial"
    )
    a.add_argument("--start-time", "--at", type=_when, metavar="ISO", help="window start (now)")
    a.add_argument("--window-hours", type=float, metavar="H", help="rolling window length")
    a.add_argument("--previous", type=Path, help="the previous allocation (re-runs, --input)")
    a.add_argument("--solver", choices=SOLVER_CHOICES, help="default: highs, or the site's")
    add_site_options(a)
    a.add_argument("--time-limit", type=float, metavar="S", help="seconds (site default)")
    a.set_defaults(func=cmd_allocate)
    s = subparsers.add_parser(
        "simulate-day", help="allocate, schedule, cancel a route mid-day, re-allocate, verify"
    )
    s.add_argument("--start-time", type=_when, default=_when("2026-02-11 04:30"), metavar="ISO")
    s.add_argument("--window-hours", type=float, default=18.0, metavar="H")
    s.add_argument("--seed", type=int, default=7, help="day generator seed (default 7)")
    s.add_argument("--input", type=Path, help="simulate this depot day instead of a generated one")
    s.add_argument("--routes", type=int, default=60, help="generated routes (default 60)")
    s.add_argument("--vehicles", type=int, help="generated vehicles (default routes / 2.5)")
    s.add_argument("--cancel-at", type=_when, metavar="ISO", help="default: mid-window")
    s.add_argument("--solver", choices=SOLVER_CHOICES, default="highs")
    s.add_argument("--time-limit", type=float, metavar="S", help="seconds per allocation")
    s.set_defaults(func=cmd_simulate_day)


def allocate_options(
    name: str, time_limit_s: float | None, environ: Mapping[str, str]
) -> AllocateOptions:
    """Options for the named solver; optional backends fall through to HiGHS."""
    if name == "greedy":
        return AllocateOptions(method=Method.GREEDY, time_limit_s=time_limit_s)
    chain: tuple[Solver, ...] = (HighsSolver(),)
    if name == "pulp":
        chain = (PulpSolver(), HighsSolver())
    elif name == "hexaly":
        chain = (HexalySolver(hexaly_licence(environ)), HighsSolver())
    return AllocateOptions(solvers=chain, time_limit_s=time_limit_s)


def _read_day(path: Path, start: datetime | None, window_h: float | None) -> DepotDay:
    data = json.loads(path.read_text(encoding="utf-8"))
    day = DepotDay.model_validate(data)
    if window_h is not None:
        params = day.parameters.model_copy(update={"window_h": window_h})
        day = DepotDay.model_validate({**day.model_dump(), "parameters": params.model_dump()})
    if start is not None:
        day = DepotDay.model_validate({**day.model_dump(), "window_start": start})
    return day


def cmd_allocate(args: argparse.Namespace) -> int:
    """Read the day (and previous allocation), allocate, write the result, print a summary."""
    if args.site_id is not None:
        from v2g.cli_plan import cmd_allocate_site  # noqa: PLC0415 (cli_plan imports this module)

        return cmd_allocate_site(args)
    if args.output is None:
        print("v2g allocate: --output is required with --input", file=sys.stderr)
        return 2
    try:
        day = _read_day(args.input, args.start_time, args.window_hours)
        previous = None
        if args.previous is not None:
            text = Path(args.previous).read_text(encoding="utf-8")
            previous = AllocationResult.model_validate_json(text)
        options = allocate_options(args.solver or "highs", args.time_limit, os.environ)
        result = allocate(day, trigger=Trigger(args.trigger), previous=previous, options=options)
    except (OSError, json.JSONDecodeError, ValidationError, AllocationError) as exc:
        print(f"v2g allocate: {exc}", file=sys.stderr)
        return 2
    Path(args.output).write_text(result.model_dump_json(indent=2), encoding="utf-8")
    print(summary(result))
    return 0


def summary(result: AllocationResult) -> str:
    """What a depot planner reads: outcome, sequences, unallocated routes and why."""
    start, end = result.window_start.astimezone(UTC), result.window_end.astimezone(UTC)
    lines = [
        f"site {result.site_id}: {result.trigger.value} run, window "
        f"{start:%Y-%m-%d %H:%M} - {end:%H:%M} UTC",
        f"{result.routes_covered} of {result.routes_in_window} routes covered (at most "
        f"{result.max_routes_coverable} can be) by {len(result.assignments)} vehicles; "
        f"{result.status.value} by {result.solver}, gap {100 * result.mip_gap:.4f} % to the "
        f"bound, in {result.runtime_s:.2f} s; {result.sequences_generated} sequences generated",
    ]
    if result.fallback_reason:
        lines.append(f"fallback: {result.fallback_reason}")
    rows = [
        (
            a.vehicle_id,
            " ".join(a.route_ids),
            f"{a.driving_h:.1f}",
            f"{a.min_soc_pct:.0f}",
            f"{a.end_soc_pct:.0f}",
        )
        for a in result.assignments[:_TOP]
    ]
    lines += ["", render_table(("vehicle", "routes", "driving_h", "min_soc_%", "end_soc_%"), rows)]
    if len(result.assignments) > _TOP:
        lines.append(f"... and {len(result.assignments) - _TOP} more vehicles")
    if result.unallocated:
        lines += ["", render_table(("unallocated", "reason", "rejected by"), _why(result))]
    lines += [
        f"released: {r.route_id} from {r.vehicle_id} ({r.constraint}: {r.detail})"
        for r in result.released
    ]
    if result.changes:
        moved = ", ".join(
            f"{c.route_id} {c.before or '-'}->{c.after or '-'}" for c in result.changes
        )
        lines.append(f"changes: {moved}")
    return "\n".join(lines)


def _why(result: AllocationResult) -> list[tuple[str, str, str]]:
    rows = []
    for u in result.unallocated:
        counts = ", ".join(f"{k} ({len(v)})" for k, v in u.rejected_by.items()) or u.detail
        rows.append((u.route_id, u.reason.value, counts))
    return rows


def cmd_simulate_day(args: argparse.Namespace) -> int:
    """Generate (or read) a day, run it end to end, print the report; 1 if a check failed."""
    try:
        if args.input is not None:
            day = _read_day(args.input, args.start_time, args.window_hours)
        else:
            day = synthetic_day(
                args.routes,
                start=args.start_time,
                n_vehicles=args.vehicles,
                window_h=args.window_hours,
                seed=args.seed,
                site_id="simulated",
            )
        options = allocate_options(args.solver, args.time_limit, os.environ)
        report = simulate_day(day, cancel_at=args.cancel_at, options=options)
    except (OSError, json.JSONDecodeError, ValidationError, AllocationError, ValueError) as exc:
        print(f"v2g simulate-day: {exc}", file=sys.stderr)
        return 2
    print(day_report(report))
    return 0 if report.ok else 1


def _step_row(step: Step) -> tuple[object, ...]:
    r = step.result
    return (
        step.label,
        f"{r.window_start.astimezone(UTC):%H:%M}",
        r.routes_in_window,
        r.routes_covered,
        r.max_routes_coverable,
        len(r.unallocated),
        r.sequences_generated,
        f"{r.solver}/{r.status.value}",
        f"{100 * r.mip_gap:.4f}%",
        f"{r.runtime_s:.2f}",
        "pass" if not step.violations else f"FAIL ({len(step.violations)})",
    )


def _unmet(plan: ChargePlan) -> str:
    reasons = Counter(u.reason.value for u in plan.unmet)
    return f" ({', '.join(f'{k} {n}' for k, n in reasons.items())})" if reasons else ""


def day_report(report: DayReport) -> str:
    """The simulation report: runs, charge plan, cancellation, verdict."""
    day = report.initial.day
    steps = [report.initial] + ([report.rerun] if report.rerun else [])
    lines = [
        f"simulated day at {day.site_id}: {len(day.routes)} routes, {len(day.vehicles)} vehicles, "
        f"window {day.window_start.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
        f"+ {day.parameters.window_h:g} h",
        "",
        render_table(
            (
                "run",
                "start",
                "routes",
                "covered",
                "coverable",
                "unallocated",
                "sequences",
                "solver",
                "gap",
                "time_s",
                "checker",
            ),
            [_step_row(s) for s in steps],
        ),
    ]
    reasons = Counter(u.reason.value for u in report.initial.result.unallocated)
    if reasons:
        lines.append("initial unallocated: " + ", ".join(f"{k} {n}" for k, n in reasons.items()))
    plan = report.plan
    lines += [
        "",
        f"charge plan (post-allocation): {plan.status.value} by {plan.solver}, "
        f"{plan.costs.total_eur:.2f} EUR, {sum(v.energy_kwh for v in plan.vehicles):.0f} kWh, "
        f"{len(plan.unmet)} routes short of energy{_unmet(plan)}; checker "
        + ("pass" if not report.plan_violations else f"FAIL ({len(report.plan_violations)})"),
    ]
    if report.rerun is None:
        lines.append("no route left to cancel after mid-window")
    else:
        result = report.rerun.result
        lines += [
            "",
            f"cancelled {report.cancelled_route} ({report.cancelled_vehicle}) at "
            f"{result.window_start.astimezone(UTC):%H:%M}; re-run changes: "
            + (
                ", ".join(
                    f"{c.route_id} {c.before or '-'}->{c.after or '-'}" for c in result.changes
                )
                or "none"
            ),
            "stability: " + ("kept" if not report.stability else "; ".join(report.stability)),
        ]
    failures = [f"{s.label}: {v.rule} {v.subject} {v.detail}" for s in steps for v in s.violations]
    failures += [f"plan: {v.constraint} {v.subject}" for v in report.plan_violations]
    lines += ["", "all checks passed" if report.ok else "FAILED:\n  " + "\n  ".join(failures)]
    return "\n".join(lines)
