"""Charge scheduling at scale: this project's LP path against PuLP + CBC, and the greedy gap.

    .venv/bin/python benchmarks/charge_scheduling.py [--sizes 100 500 2000 10000] [--pulp-max 2000]

For each fleet size (48 half-hour slots, real Dutch day-ahead prices of 30-31 Dec 2024, a site
sized for 30 % of the fleet's charging power, 0-3 routes per van) it prints:

* build and solve time of this project (``build_instance`` + compact LP, HiGHS), its objective,
  and whether the independent checker accepts the plan;
* build and solve time of the seed's formulation as written (with the route-aware SoC cap of
  ``LpForm.SPEC``), built with PuLP and solved by CBC in the same run (up to ``--pulp-max``
  vehicles), and its objective;
* the greedy plan's cost gap to the LP optimum, and whether the checker accepts it.
"""

from __future__ import annotations

import argparse
import csv
import logging
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from scheduling import Method, ScheduleOptions, build_instance, check_plan, schedule_instance
from scheduling.feasibility import enforceable_kwh
from scheduling.instance import ChargeInstance
from scheduling.scheduler import solve_lp
from scheduling.synthetic import synthetic_problem
from solvers import HighsSolver, SolveOptions

PRICES = Path(__file__).resolve().parents[1] / "examples" / "nl_day_ahead_2024-12-30_31.csv"
START = datetime(2024, 12, 30, 12, tzinfo=UTC)


def half_hour_prices() -> list[float]:
    """48 half-hour prices (EUR/kWh) from 2024-12-30 12:00 UTC; the missing hour is carried."""
    by_hour: dict[datetime, float] = {}
    with PRICES.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            when = datetime.fromisoformat(row["start_utc"].replace("Z", "+00:00"))
            by_hour[when] = float(row["price_eur_per_mwh"]) / 1000
    out, last = [], 0.0
    for i in range(48):
        last = by_hour.get(START + timedelta(hours=i // 2), last)
        out.append(last)
    return out


def pulp_spec(inst: ChargeInstance, time_limit_s: float) -> tuple[float, float, float]:
    """Build the seed formulation (``LpForm.SPEC``) with PuLP, solve with CBC.

    Returns (build s, solve s, objective).
    """
    import pulp  # noqa: PLC0415

    t0 = time.perf_counter()
    n_v, n_t, h = inst.n_vehicles, inst.n_slots, inst.slot_h
    prob = pulp.LpProblem("charge", pulp.LpMinimize)
    new_var: Any = getattr(prob, "add_variable", None) or pulp.LpVariable
    cost = inst.cost_eur_per_kwh
    p = [
        [
            new_var(f"p_{v}_{t}", 0, float(inst.rate_kw[v]) if inst.available[v, t] else 0.0)
            for t in range(n_t)
        ]
        for v in range(n_v)
    ]
    cap = inst.energy_cap_kwh  # EQ-04, route-aware (docs/scheduling.md, departures)
    e = [[new_var(f"e_{v}_{t}", 0, float(cap[v, t + 1])) for t in range(n_t)] for v in range(n_v)]
    short = [new_var(f"s_{v}", 0, float(inst.target_need_kwh[v])) for v in range(n_v)]
    enforce = enforceable_kwh(inst)
    unmet = [new_var(f"u_{c}", 0, float(x)) for c, x in enumerate(enforce)]
    prob += (
        pulp.lpSum(float(cost[t]) * h * p[v][t] for v in range(n_v) for t in range(n_t))
        + inst.shortfall_penalty_eur_per_kwh * pulp.lpSum(short)
        + inst.unmet_penalty_eur_per_kwh * pulp.lpSum(unmet)
    )
    for v in range(n_v):
        prob += e[v][0] == h * p[v][0]
        for t in range(1, n_t):
            prob += e[v][t] == e[v][t - 1] + h * p[v][t]
        prob += short[v] >= float(inst.target_need_kwh[v]) - e[v][n_t - 1]
    for c in np.nonzero(enforce > 0)[0]:
        v, k = int(inst.cp_vehicle[c]), int(inst.cp_slot[c])
        lhs = e[v][k - 1] + unmet[c] if k > 0 else unmet[c]
        prob += lhs >= float(enforce[c])
    for t in range(n_t):
        prob += pulp.lpSum(p[v][t] for v in range(n_v)) <= float(inst.capacity_kw[t])
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s))
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, float(pulp.value(prob.objective))


def run(n: int, prices: list[float], pulp_max: int) -> dict[str, Any]:
    """One row of the table."""
    problem = synthetic_problem(
        n, window_start=START, prices_eur_per_kwh=prices, seed=n, triad_slots=(10, 11)
    )
    options = ScheduleOptions(time_limit_s=600)
    t0 = time.perf_counter()
    inst = build_instance(problem)
    t1 = time.perf_counter()
    lp, sol = solve_lp(inst, options)  # this project's path (column generation from 2,000)
    t2 = time.perf_counter()
    full = HighsSolver().solve(lp.model, SolveOptions(time_limit_s=600, presolve=False))
    t3 = time.perf_counter()
    plan = schedule_instance(inst, options)
    greedy = schedule_instance(inst, ScheduleOptions(method=Method.GREEDY))
    row: dict[str, Any] = {
        "n": n,
        "build": t1 - t0,
        "solve": t2 - t1,
        "obj": sol.objective,
        "method": "colgen" if "column generation" in sol.message else "lp",
        "full_s": t3 - t2,
        "full_obj": full.objective,
        "plan_ok": not check_plan(problem, plan),
        "greedy_gap": (greedy.costs.total_eur - plan.costs.total_eur) / abs(plan.costs.total_eur),
        "greedy_ok": not check_plan(problem, greedy),
        "greedy_s": greedy.runtime_s,
    }
    if n <= pulp_max:
        row["pulp_build"], row["pulp_solve"], row["pulp_obj"] = pulp_spec(inst, 600)
    return row


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000, 10000])
    parser.add_argument("--pulp-max", type=int, default=2000)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    prices = half_hour_prices()
    print(
        "| vehicles | build s | LP build+solve s | total s | method | objective EUR | checker "
        "| full LP s | full LP rel. diff | PuLP build s | CBC solve s | CBC objective EUR "
        "| CBC rel. diff | greedy gap | greedy checker |"
    )
    print("|---:|---:|---:|---:|:---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
    for n in args.sizes:
        r = run(n, prices, args.pulp_max)
        if "pulp_obj" in r:
            diff = abs(r["pulp_obj"] - r["obj"]) / abs(r["obj"])
            pulp_cols = (
                f"{r['pulp_build']:.2f} | {r['pulp_solve']:.2f} | {r['pulp_obj']:.4f} | {diff:.1e}"
            )
        else:
            pulp_cols = "- | - | - | -"
        full_diff = abs(r["full_obj"] - r["obj"]) / abs(r["full_obj"])
        print(
            f"| {n} | {r['build']:.3f} | {r['solve']:.3f} | {r['build'] + r['solve']:.3f} | "
            f"{r['method']} | {r['obj']:.4f} | {'pass' if r['plan_ok'] else 'FAIL'} | "
            f"{r['full_s']:.3f} | {full_diff:.1e} | {pulp_cols} | "
            f"{100 * r['greedy_gap']:.2f} % | {'pass' if r['greedy_ok'] else 'FAIL'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
