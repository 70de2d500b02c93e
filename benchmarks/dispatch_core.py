"""Dispatch core benchmark: dispatcher times and full in-process dispatches.

For each fleet size it prints the median over ``--repeats`` runs of:

- ``candidates``: filter + effective capacity + features for the fleet;
- each dispatcher's ``allocate`` (Equal, Smart, LP, and LP with a 2 kW minimum: a MIP);
- the LP solve time reported by HiGHS;
- a full in-process dispatch (signal -> result) through the simulated fleet, every gateway
  accepting at once, for each dispatcher.

Targets (issue 2): a 10k-vehicle in-process dispatch under 100 ms with the Smart dispatcher
and under 1 s with the LP dispatcher; ``vs target`` is the measured time over the target.
Each timed dispatch starts right after ``gc.collect()``, so every dispatcher meets the same
heap; a full collection of the 10k-vehicle heap falling inside a dispatch adds about 25 ms.

    python benchmarks/dispatch_core.py [--sizes 1000 10000 50000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import itertools
import logging
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import structlog

from dispatch import (
    Candidates,
    DispatchManager,
    DispatchStatus,
    EqualDispatcher,
    FlexibilitySignal,
    LPDispatcher,
    SimpleVehicleFilter,
    SmartDispatcher,
)
from dispatch.commitments import CommitmentLedger
from dispatch.dispatchers import Dispatcher
from fleet import Direction, StaticFleet, Vehicle
from v2g.clock import SystemClock
from v2g.sim import SimulatedFleet, make_fleet
from v2g.table import render_table

TARGETS_10K_S = {"smart": 0.100, "lp": 1.0}


def _median(fn: Callable[[], float], repeats: int) -> float:
    return statistics.median(fn() for _ in range(repeats))


def _signal(fleet: list[Vehicle], i: int) -> FlexibilitySignal:
    usable = sum(v.effective_capacity(Direction.DISCHARGE, 0.5) for v in fleet)
    return FlexibilitySignal(
        signal_id=f"bench-{i}",
        site_id="10",
        type="peak_shaving",
        direction=Direction.DISCHARGE,
        power_kw=round(0.5 * usable, 1),
        start=SystemClock().now() + timedelta(minutes=5),
        duration_s=1800,
    )


def _allocate_s(disp: Dispatcher, sig: FlexibilitySignal, cand: Candidates) -> float:
    t0 = time.perf_counter()
    disp.allocate(sig, cand)
    return time.perf_counter() - t0


def _solve_s(disp: LPDispatcher, sig: FlexibilitySignal, cand: Candidates) -> float:
    alloc = disp.allocate(sig, cand)
    assert alloc.solver == "highs", alloc.degraded
    return alloc.notes["solve_s"]


async def _dispatch_s(fleet: list[Vehicle], make: Callable[[], Dispatcher], i: int) -> float:
    sim = SimulatedFleet(ack_timeout_s=5.0)
    manager = DispatchManager(
        fleet=StaticFleet(fleet),
        publisher=sim,
        clock=SystemClock(),
        dispatcher=make(),
        ack_timeout_s=5.0,
    )
    sim.connect(manager.handle_ack)
    sig = _signal(fleet, i)
    gc.collect()  # every timed dispatch starts from the same heap state (see docs/benchmarks.md)
    t0 = time.perf_counter()
    result = await manager.dispatch(sig)
    elapsed = time.perf_counter() - t0
    assert result.status is DispatchStatus.FULFILLED, result.reason
    return elapsed


MAKERS: dict[str, Callable[[], Dispatcher]] = {
    "equal": EqualDispatcher,
    "smart": SmartDispatcher,
    "lp": LPDispatcher,
}


def measure_size(n: int, repeats: int, ids: Iterator[int]) -> tuple[int, list[tuple[str, float]]]:
    """Every measure for a fleet of ``n`` vehicles: (eligible count, [(label, seconds)])."""
    fleet = make_fleet(n, seed=1)
    sig = _signal(fleet, next(ids))
    ledger = CommitmentLedger()

    def build() -> float:
        t0 = time.perf_counter()
        selection = SimpleVehicleFilter().select(sig, fleet, ledger)
        Candidates.build(
            sig, selection.eligible, arrays=selection.arrays, capacity_kw=selection.capacity_kw
        )
        return time.perf_counter() - t0

    selection = SimpleVehicleFilter().select(sig, fleet, ledger)
    cand = Candidates.build(sig, selection.eligible)
    lp, mip = LPDispatcher(), LPDispatcher(min_power_kw=2.0)
    measures = [("candidates (filter+features)", _median(build, repeats))]
    for name, make in MAKERS.items():
        seconds = _median(functools.partial(_allocate_s, make(), sig, cand), repeats)
        measures.append((f"allocate {name}", seconds))
    measures += [
        ("allocate lp, min 2 kW (MIP)", _median(lambda: _allocate_s(mip, sig, cand), repeats)),
        ("lp solve (HiGHS)", _median(lambda: _solve_s(lp, sig, cand), repeats)),
        ("lp solve, min 2 kW (HiGHS)", _median(lambda: _solve_s(mip, sig, cand), repeats)),
    ]
    for name, make in MAKERS.items():
        seconds = _median(functools.partial(_dispatch_sync, fleet, make, ids), repeats)
        measures.append((f"dispatch in-process {name}", seconds))
    return len(cand), measures


def _dispatch_sync(
    fleet: list[Vehicle], make: Callable[[], Dispatcher], ids: Iterator[int]
) -> float:
    return asyncio.run(_dispatch_s(fleet, make, next(ids)))


def run(sizes: list[int], repeats: int) -> list[list[object]]:
    """Measure every size; one table row per (size, measure)."""
    rows: list[list[object]] = []
    ids = itertools.count()
    for n in sizes:
        eligible, measures = measure_size(n, repeats, ids)
        for label, seconds in measures:
            target = None
            if n == 10_000 and label.startswith("dispatch in-process "):
                target = TARGETS_10K_S.get(label.rsplit(" ", 1)[1])
            ratio = f"{seconds / target:.2f}" if target else ""
            rows.append([n, eligible, label, f"{seconds * 1000:.1f}", ratio])
    return rows


def main() -> None:
    """Parse arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    rows = run(args.sizes, args.repeats)
    print(render_table(["vehicles", "eligible", "measure", "median_ms", "vs target"], rows))


if __name__ == "__main__":
    main()
