"""Helpers shared by the tests: a fixed clock, signals, vehicles and a wired manager."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch import DispatchManager, FlexibilitySignal
from fleet import FleetDiscovery, StaticFleet, Vehicle
from metrics import RecordingSink
from v2g.sim import Behaviour, SimulatedFleet

T0 = datetime(2026, 11, 21, 16, 0, tzinfo=UTC)
ACK_TIMEOUT_S = 0.05


class FixedClock:
    """A clock that says what the test tells it."""

    def __init__(self, now: datetime = T0) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def signal(
    signal_id: str = "sig-1",
    *,
    site: str = "10",
    power_kw: float = 50.0,
    direction: str = "discharge",
    type_: str = "peak_shaving",
    start: datetime | None = None,
    duration_s: float = 1800.0,
) -> FlexibilitySignal:
    """A valid signal starting a minute after T0 unless told otherwise."""
    return FlexibilitySignal(
        signal_id=signal_id,
        site=site,
        type=type_,
        direction=direction,  # type: ignore[arg-type]
        power_kw=power_kw,
        start=start or T0 + timedelta(minutes=1),
        duration_s=duration_s,
    )


def vehicle(vid: str, **kw: Any) -> Vehicle:
    """A healthy plugged-in vehicle at site 10 with 10 kW both ways, overridable."""
    base: dict[str, Any] = {
        "vehicle_id": vid,
        "site_id": "10",
        "soc_pct": 80.0,
        "battery_kwh": 75.0,
        "max_charge_kw": 10.0,
        "max_discharge_kw": 10.0,
    }
    base.update(kw)
    return Vehicle(**base)


@dataclass
class Rig:
    """A manager wired to a simulated fleet and a recording metrics sink."""

    manager: DispatchManager
    fleet: SimulatedFleet
    metrics: RecordingSink
    clock: FixedClock


def rig(
    vehicles: Sequence[Vehicle] | FleetDiscovery,
    behaviour: Behaviour | None = None,
    *,
    overrides: dict[str, Behaviour] | None = None,
    seed: int = 0,
    unreachable: Sequence[str] = (),
    **manager_kw: Any,
) -> Rig:
    """Wire a :class:`DispatchManager` to a :class:`SimulatedFleet`."""
    timeout = manager_kw.pop("ack_timeout_s", ACK_TIMEOUT_S)
    sim = SimulatedFleet(
        behaviour,
        overrides=overrides,
        ack_timeout_s=timeout,
        seed=seed,
        unreachable=unreachable,
    )
    sink = RecordingSink()
    clock = FixedClock()
    fleet = vehicles if not isinstance(vehicles, Sequence) else StaticFleet(vehicles)
    manager = DispatchManager(
        fleet=fleet,
        publisher=sim,
        clock=clock,
        ack_timeout_s=timeout,
        metrics=sink,
        **manager_kw,
    )
    sim.connect(manager.handle_ack)
    return Rig(manager, sim, sink, clock)
