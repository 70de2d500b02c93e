"""Route allocation at scale: this project against the greedy and against PuLP + CBC.

    .venv/bin/python benchmarks/route_allocation.py [--sizes 50 100 200 400] [--time-limit 10]
                                              [--cbc-limit 120]

For each synthetic depot day (``allocation.synthetic_day``: n routes of 1-4 h between 04:00
and 22:00, n / 2.5 vehicles, seed = n) it prints:

* naive: the chains of up to ``max_routes_per_sequence`` routes the vehicles could drive
  (time, type and availability checked; energy and hours not), summed over vehicles: what
  listing every sequence would start from;
* this project (``allocate``, HiGHS, the site's 10 s time limit): sequences generated, routes
  covered, the proven upper bound on routes any allocation covers, status, gap to the proven
  bound, seconds, and the independent checker's verdict;
* the greedy fallback alone: routes covered, seconds;
* the same model (the seed MIP over the same generated sequences) built with PuLP and solved
  by CBC in the same run: build and solve seconds, routes covered, and whether CBC proved
  optimality within ``--cbc-limit``.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from datetime import UTC, datetime
from typing import Any

import numpy as np
import structlog

from allocation import (
    AllocateOptions,
    Method,
    allocate,
    check_allocation,
    synthetic_day,
)
from allocation.allocator import allocate_run
from allocation.instance import Instance
from allocation.model import Pool

START = datetime(2026, 2, 11, 4, 0, tzinfo=UTC)


def naive_chains(inst: Instance) -> int:
    """Chains of at most K routes each vehicle could drive, by counting paths in the DAG."""
    k_max = inst.ctx.params.max_routes_per_sequence
    follows = inst.follows.astype(np.float64)
    total = 0.0
    for v in range(inst.n_vehicles):
        ok = inst.feasible[v].astype(np.float64)
        count = ok.copy()  # chains of exactly k routes starting at each route
        total += count.sum()
        for _ in range(2, k_max + 1):
            count = ok * (follows @ count)
            total += count.sum()
    return int(total)


def pulp_seed_model(
    inst: Instance, pool: Pool, time_limit_s: float
) -> tuple[float, float, int, str]:
    """Build the seed MIP over ``pool`` with PuLP, solve with CBC.

    Returns (build s, solve s, routes covered, "optimal" or "time limit").
    """
    import pulp  # noqa: PLC0415

    t0 = time.perf_counter()
    w = inst.covered_route_weight
    prob = pulp.LpProblem("allocation", pulp.LpMaximize)
    new_var: Any = getattr(prob, "add_variable", None) or pulp.LpVariable
    x = [new_var(f"x_{i}", 0, 1, pulp.LpBinary) for i in range(len(pool))]
    covered = [new_var(f"c_{r}", 0, 1, pulp.LpBinary) for r in range(inst.n_routes)]
    score = [pool.values[i] - w * len(pool.routes[i]) for i in range(len(pool))]
    prob += w * pulp.lpSum(covered) + pulp.lpSum(s * xi for s, xi in zip(score, x, strict=True))
    by_vehicle: dict[int, list[Any]] = {}
    by_route: dict[int, list[Any]] = {r: [] for r in range(inst.n_routes)}
    for i, (v, seq) in enumerate(zip(pool.vehicles, pool.routes, strict=True)):
        by_vehicle.setdefault(v, []).append(x[i])
        for r in seq:
            by_route[r].append(x[i])
    for v, xs in by_vehicle.items():
        prob += pulp.lpSum(xs) <= 1 if not inst.required[v] else pulp.lpSum(xs) == 1
    for r, xs in by_route.items():
        prob += pulp.lpSum(xs) <= 1
        prob += covered[r] <= pulp.lpSum(xs)
        prob += pulp.lpSum(xs) <= len(xs) * covered[r]
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s, gapRel=1e-6))
    t2 = time.perf_counter()
    proven = prob.status == 1 and int(getattr(prob, "sol_status", 1)) == 1
    status = "optimal" if proven else "time limit"
    return t1 - t0, t2 - t1, round(sum(c.varValue or 0 for c in covered)), status


def run(n: int, time_limit_s: float, cbc_limit_s: float) -> dict[str, Any]:
    """One row of the table."""
    day = synthetic_day(n, start=START, seed=n)
    ours = allocate_run(day, options=AllocateOptions(time_limit_s=time_limit_s))
    res = ours.result
    greedy = allocate(day, options=AllocateOptions(method=Method.GREEDY))
    build, solve, cbc_covered, cbc_status = pulp_seed_model(ours.instance, ours.pool, cbc_limit_s)
    return {
        "n": n,
        "vehicles": len(day.vehicles),
        "naive": naive_chains(ours.instance),
        "sequences": res.sequences_generated,
        "covered": res.routes_covered,
        "coverable": res.max_routes_coverable,
        "status": res.status.value,
        "gap": res.mip_gap,
        "seconds": res.runtime_s,
        "checker": not check_allocation(day, res),
        "greedy_covered": greedy.routes_covered,
        "greedy_s": greedy.runtime_s,
        "pulp_build": build,
        "cbc_solve": solve,
        "cbc_covered": cbc_covered,
        "cbc_status": cbc_status,
    }


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200, 400])
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per allocation")
    parser.add_argument("--cbc-limit", type=float, default=120.0, help="seconds for CBC")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(
        "| routes | vehicles | naive chains | sequences | covered | coverable | status | gap "
        "| time s | checker | greedy covered | greedy s | PuLP build s | CBC solve s "
        "| CBC covered | CBC status |"
    )
    print("|---:|---:|---:|---:|---:|---:|:---|---:|---:|:---:|---:|---:|---:|---:|---:|:---|")
    for n in args.sizes:
        r = run(n, args.time_limit, args.cbc_limit)
        print(
            f"| {r['n']} | {r['vehicles']} | {r['naive']:,} | {r['sequences']:,} | {r['covered']} "
            f"| {r['coverable']} "
            f"| {r['status']} | {100 * r['gap']:.5f} % | {r['seconds']:.2f} "
            f"| {'pass' if r['checker'] else 'FAIL'} | {r['greedy_covered']} | {r['greedy_s']:.2f} "
            f"| {r['pulp_build']:.2f} | {r['cbc_solve']:.2f} | {r['cbc_covered']} "
            f"| {r['cbc_status']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
