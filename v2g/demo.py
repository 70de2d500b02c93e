"""``v2g demo --in-process``: the demo without MQTT, and the summary table both demos print.

The fleet is simulated in-process (gateways with latency, refusals, partial answers and
silence), so this demo needs no broker at all. Each signal uses one dispatcher and one
fallback; the summary shows how each pair met the request. ``v2g demo`` itself runs over MQTT
(:mod:`v2g.demo_mqtt`) and ends with the same table.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, TextIO

from dispatch import (
    DispatchManager,
    FlexibilitySignal,
    OutcomeTuner,
)
from dispatch.models import DispatchStatus, Outcome
from fleet import Direction, StaticFleet
from metrics import RecordingSink
from v2g.clock import SystemClock
from v2g.sim import Behaviour, SimulatedFleet, make_fleet
from v2g.strategies import DISPATCHERS, FALLBACKS
from v2g.table import render_table


def gateways(max_latency_s: float = 0.25) -> Behaviour:
    """The demo's gateways: mostly cooperative, some refuse, answer in part or stay silent."""
    return Behaviour(
        accept=0.80,
        partial=0.08,
        reject=0.07,
        silent=0.05,
        latency_s=(min(0.02, max_latency_s), max_latency_s),
        duplicate=0.02,
    )


class _VehicleReport(Protocol):
    @property
    def outcome(self) -> Outcome: ...


class Reported(Protocol):
    """What the summary reads of a result: a ``DispatchResult`` or its wire form."""

    @property
    def status(self) -> DispatchStatus: ...
    @property
    def requested_kw(self) -> float: ...
    @property
    def acknowledged_kw(self) -> float: ...
    @property
    def rounds(self) -> int: ...
    @property
    def vehicles(self) -> Sequence[_VehicleReport]: ...


@dataclass(frozen=True)
class DemoRun:
    """One signal of the demo and its result."""

    dispatcher: str
    fallback: str
    result: Reported
    elapsed_s: float


def progress_line(run: DemoRun) -> str:
    """The line printed as soon as one signal has its result."""
    r = run.result
    return (
        f"  {run.dispatcher:>5} + {run.fallback:<13} {r.status.value:<9} "
        f"{r.acknowledged_kw:8.1f} / {r.requested_kw:.0f} kW in {run.elapsed_s:.2f} s\n"
    )


async def run_demo(
    vehicles: int = 300,
    *,
    seed: int = 7,
    ack_timeout_s: float = 1.0,
    max_latency_s: float = 0.25,
    site_id: str = "10",
    out: TextIO | None = None,
) -> list[DemoRun]:
    """Dispatch one discharge signal per dispatcher x fallback pair; print progress."""
    out = out if out is not None else sys.stdout  # looked up now: tests replace it
    fleet = make_fleet(vehicles, site_id, seed=seed)
    clock = SystemClock()
    runs: list[DemoRun] = []
    capacity_kw = sum(v.effective_capacity(Direction.DISCHARGE, 0.5) for v in fleet)
    power_kw = round(0.6 * capacity_kw, -1)
    out.write(
        f"Simulated depot {site_id}: {vehicles} vehicles, {capacity_kw:.0f} kW usable "
        f"for 30 min; each signal asks {power_kw:.0f} kW.\n"
    )
    for i, (dname, make_dispatcher) in enumerate(DISPATCHERS.items()):
        for j, (fname, make_fallback) in enumerate(FALLBACKS.items()):
            sim = SimulatedFleet(
                gateways(max_latency_s), ack_timeout_s=ack_timeout_s, seed=seed + 3 * i + j
            )
            manager = DispatchManager(
                fleet=StaticFleet(fleet),
                publisher=sim,
                clock=clock,
                dispatcher=make_dispatcher(),
                fallback=make_fallback(),
                ack_timeout_s=ack_timeout_s,
                metrics=RecordingSink(),
                tuner=OutcomeTuner(),
            )
            sim.connect(manager.handle_ack)
            signal = FlexibilitySignal(
                signal_id=f"demo-{dname}-{fname}",
                site_id=site_id,
                type="peak_shaving",
                direction=Direction.DISCHARGE,
                power_kw=power_kw,
                start=clock.now() + timedelta(minutes=5),
                duration_s=1800,
            )
            t0 = time.perf_counter()
            result = await manager.dispatch(signal)
            elapsed = time.perf_counter() - t0
            runs.append(DemoRun(dname, fname, result, elapsed))
            out.write(progress_line(runs[-1]))
            out.flush()
    return runs


def summary(runs: list[DemoRun]) -> str:
    """The closing table."""
    rows = []
    for run in runs:
        r = run.result
        counts = Counter(v.outcome.value for v in r.vehicles)
        rows.append(
            [
                run.dispatcher,
                run.fallback,
                r.status.value,
                f"{r.requested_kw:.0f}",
                f"{r.acknowledged_kw:.1f}",
                f"{100 * r.acknowledged_kw / r.requested_kw:.1f}%",
                len(r.vehicles),
                counts["accepted"],
                counts["partial"],
                counts["rejected"] + counts["timeout"],
                r.rounds,
                f"{run.elapsed_s:.2f}",
            ]
        )
    return render_table(
        [
            "dispatcher",
            "fallback",
            "status",
            "requested_kw",
            "acked_kw",
            "met",
            "vehicles",
            "accepted",
            "partial",
            "refused/silent",
            "rounds",
            "time_s",
        ],
        rows,
    )


__all__ = ["DemoRun", "Reported", "gateways", "progress_line", "run_demo", "summary"]
