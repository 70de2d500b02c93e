"""``v2g schedule`` and ``v2g schema``: the charge scheduler on files.

    v2g schedule --input scenario.json --output plan.json [--planning-window H]
                 [--solver highs|pulp|hexaly|greedy] [--time-limit S] [--plot plan.png]
    v2g schedule --site-id 10 [--route-source planned|allocated] [--planning-window H]
                 [--at ISO] [--params FILE] ... (the database form: see :mod:`v2g.cli_plan`)
    v2g schema

The Hexaly backend is licensed through ``HX_LICENSE_CONTENT`` or the licence file named by
``HX_LICENSE_PATH``; without a licence it is skipped and HiGHS solves.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from scheduling import (
    ChargePlan,
    Method,
    ScheduleOptions,
    ScheduleProblem,
    SchedulingError,
    schedule,
)
from solvers import HexalySolver, HighsSolver, PulpSolver, Solver
from v2g.cli_site import add_site_options, when
from v2g.schemas import all_schemas

SOLVER_CHOICES = ("highs", "pulp", "hexaly", "greedy")
_TOP_VEHICLES = 12


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``schedule`` and ``schema`` subcommands."""
    p = subparsers.add_parser("schedule", help="plan depot charging from a scenario file")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, help="scenario JSON (v2g schema)")
    source.add_argument("--site-id", help="schedule this site from the database")
    p.add_argument("--output", type=Path, help="where to write the plan JSON (--input: needed)")
    p.add_argument("--planning-window", type=float, metavar="H", help="hours, 4 to 24")
    p.add_argument("--solver", choices=SOLVER_CHOICES, help="default: highs, or the site's")
    p.add_argument("--time-limit", type=float, metavar="S", help="seconds (default 10)")
    p.add_argument("--plot", type=Path, help="write a PNG of power, headroom and price")
    p.add_argument(
        "--route-source",
        choices=("planned", "allocated"),
        default="planned",
        help="--site-id: planned vehicles (independent) or the latest allocation",
    )
    p.add_argument("--at", "--start-time", dest="start_time", type=when, metavar="ISO")
    add_site_options(p)
    p.set_defaults(func=cmd_schedule)
    s = subparsers.add_parser("schema", help="print the JSON Schema of every file format")
    s.set_defaults(func=cmd_schema)


def hexaly_licence(environ: Mapping[str, str]) -> str | None:
    """The licence's content from ``HX_LICENSE_CONTENT`` or the file at ``HX_LICENSE_PATH``."""
    content = environ.get("HX_LICENSE_CONTENT", "").strip()
    if content:
        return content
    path = environ.get("HX_LICENSE_PATH", "").strip()
    if path and Path(path).is_file():
        return Path(path).read_text(encoding="utf-8")
    return None


def solver_options(name: str, time_limit_s: float, environ: Mapping[str, str]) -> ScheduleOptions:
    """Options for the named solver; optional backends fall through to HiGHS."""
    if name == "greedy":
        return ScheduleOptions(method=Method.GREEDY, time_limit_s=time_limit_s)
    chain: tuple[Solver, ...] = (HighsSolver(),)
    if name == "pulp":
        chain = (PulpSolver(), HighsSolver())
    elif name == "hexaly":
        chain = (HexalySolver(hexaly_licence(environ)), HighsSolver())
    return ScheduleOptions(method=Method.LP, solvers=chain, time_limit_s=time_limit_s)


def cmd_schedule(args: argparse.Namespace) -> int:
    """Read the scenario, schedule, write the plan (and plot), print a summary."""
    if args.site_id is not None:
        from v2g.cli_plan import cmd_schedule_site  # noqa: PLC0415 (cli_plan imports this module)

        return cmd_schedule_site(args)
    if args.output is None:
        print("v2g schedule: --output is required with --input", file=sys.stderr)
        return 2
    try:
        data = json.loads(Path(args.input).read_text(encoding="utf-8"))
        if args.planning_window is not None:
            data["planning_window_h"] = args.planning_window
        problem = ScheduleProblem.model_validate(data)
        limit = 10.0 if args.time_limit is None else args.time_limit
        plan = schedule(problem, solver_options(args.solver or "highs", limit, os.environ))
    except (OSError, json.JSONDecodeError, ValidationError, SchedulingError) as exc:
        print(f"v2g schedule: {exc}", file=sys.stderr)
        return 2
    Path(args.output).write_text(plan.model_dump_json(indent=2), encoding="utf-8")
    if args.plot is not None:
        try:
            plot_plan(plan, args.plot)
        except ImportError:
            print("v2g schedule: --plot needs matplotlib (extra 'plot')", file=sys.stderr)
            return 2
    print(summary(plan))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print every file format's JSON Schema as one object, name -> schema."""
    print(json.dumps(all_schemas(), indent=2))
    return 0


def summary(plan: ChargePlan) -> str:
    """A few lines a depot planner reads: status, cost, savings, what was adapted or missed."""
    c, b = plan.costs, plan.baseline
    lines = [
        f"site {plan.site_id}: {plan.status.value} by {plan.solver} in {plan.runtime_s:.3f} s, "
        f"{plan.n_slots} slots from {plan.window_start.isoformat()}",
        f"energy {c.energy_eur:.2f} EUR, TRIAD {c.triad_eur:.2f} EUR, time preference "
        f"{c.time_preference_eur:.2f} EUR, shortfall penalty {c.shortfall_penalty_eur:.2f} EUR",
        f"uncontrolled charging (full rate from arrival, same energy): "
        f"{b.energy_eur + b.triad_eur:.2f} EUR, peak {b.peak_site_kw:.1f} kW; "
        f"saved {b.savings_eur:.2f} EUR",
    ]
    if plan.fallback_reason:
        lines.append(f"fallback: {plan.fallback_reason}")
    w = plan.window
    if w.adapted:
        lines.append(
            f"window grown from {w.requested_h:g} h to {w.used_h:g} h for "
            + ", ".join(w.extended_for)
        )
    if w.beyond_horizon:
        lines.append("beyond the horizon: " + ", ".join(w.beyond_horizon))
    lines.extend(
        f"unmet: {u.vehicle_id} route {u.route_id} misses {u.missing_kwh:.2f} kWh "
        f"({u.reason.value})"
        for u in plan.unmet
    )
    return "\n".join(lines)


def plot_plan(plan: ChargePlan, path: Path) -> None:
    """Stacked charging power per slot, site headroom and price, as a PNG."""
    import matplotlib as mpl  # noqa: PLC0415  (optional dependency)

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    slots = list(range(plan.n_slots))
    ranked = sorted(plan.vehicles, key=lambda v: -v.energy_kwh)
    fig, ax = plt.subplots(figsize=(13, 5))
    bottom = [0.0] * plan.n_slots
    for v in ranked[:_TOP_VEHICLES]:
        ax.bar(slots, v.power_kw, bottom=bottom, width=0.9, label=v.vehicle_id)
        bottom = [a + b for a, b in zip(bottom, v.power_kw, strict=True)]
    rest = [sum(v.power_kw[t] for v in ranked[_TOP_VEHICLES:]) for t in slots]
    if any(rest):
        ax.bar(slots, rest, bottom=bottom, width=0.9, label="other vehicles", color="0.7")
    ax.step(slots, plan.headroom_kw, where="mid", color="black", label="headroom (capacity - load)")
    ax.set_xlabel(f"slot ({plan.slot_minutes} min) from {plan.window_start:%Y-%m-%d %H:%M} UTC")
    ax.set_ylabel("charging power (kW)")
    price = ax.twinx()
    price.plot(slots, plan.price_eur_per_kwh, color="tab:red", label="price")
    price.set_ylabel("price (EUR/kWh)", color="tab:red")
    ax.legend(loc="upper left", bbox_to_anchor=(1.08, 1.0), fontsize="small", borderaxespad=0)
    ax.set_title(f"{plan.site_id}: {plan.status.value}, {plan.costs.total_eur:.2f} EUR")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
