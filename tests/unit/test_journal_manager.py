"""The dispatch manager writes its journal: before orders leave, every ack, the result."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from dispatch import (
    Ack,
    AckStatus,
    AckVerdict,
    BalancedFallback,
    DispatchManager,
    DispatchResult,
    DispatchStatus,
    FlexibilitySignal,
    NopJournal,
    Order,
)
from fleet import StaticFleet
from tests.support import ACK_TIMEOUT_S, FixedClock, rig, signal, vehicle
from v2g.sim import Behaviour, Reply, SimulatedFleet


@dataclass
class MemoryJournal:
    """A journal in lists; it can be told to fail the n-th ``orders_sent`` or the start."""

    fail_orders_at: int | None = None  # 1: the first round's orders fail
    fail_start: bool = False
    stored: dict[str, DispatchResult] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)
    rounds_written: int = 0
    acks: list[tuple[Ack, AckVerdict, Order | None]] = field(default_factory=list)
    results: list[DispatchResult] = field(default_factory=list)

    async def dispatch_started(
        self,
        signal: FlexibilitySignal,
        *,
        dispatcher: str,
        fallback: str,
        ack_timeout_s: float,
        at: datetime,
    ) -> DispatchResult | None:
        if self.fail_start:
            raise ConnectionError("database away")
        self.started.append(signal.signal_id)
        return self.stored.get(signal.signal_id)

    async def orders_sent(self, orders: Sequence[Order], at: datetime) -> None:
        await asyncio.sleep(0)  # a real write yields to the loop
        if self.fail_orders_at == self.rounds_written + 1:
            raise ConnectionError("database away")
        self.rounds_written += 1
        self.orders.update((o.order_id, o) for o in orders)

    def ack_received(
        self, ack: Ack, verdict: AckVerdict, order: Order | None, at: datetime
    ) -> None:
        self.acks.append((ack, verdict, order))

    async def dispatch_finished(self, result: DispatchResult) -> None:
        self.results.append(result)


class JournalCheckingFleet(SimulatedFleet):
    """A simulated fleet that refuses any order the journal does not hold yet."""

    def __init__(self, journal: MemoryJournal, behaviour: Behaviour | None = None) -> None:
        super().__init__(behaviour, ack_timeout_s=ACK_TIMEOUT_S)
        self.journal = journal

    async def publish(self, orders: Sequence[Order]) -> Sequence[str]:
        missing = [o.order_id for o in orders if o.order_id not in self.journal.orders]
        assert not missing, f"published before being journaled: {missing}"
        return await super().publish(orders)


def manager(
    journal: MemoryJournal, fleet: SimulatedFleet, n: int = 4, **kw: object
) -> DispatchManager:
    """A manager over ``n`` 10 kW vehicles, journaling in ``journal``."""
    m = DispatchManager(
        fleet=StaticFleet([vehicle(f"v{i}") for i in range(n)]),
        publisher=fleet,
        clock=FixedClock(),
        ack_timeout_s=ACK_TIMEOUT_S,
        journal=journal,
        **kw,  # type: ignore[arg-type]
    )
    fleet.connect(m.handle_ack)
    return m


async def test_orders_are_journaled_before_the_publisher_sees_them() -> None:
    """Every order is in the journal when the publisher gets it; the result is journaled."""
    journal = MemoryJournal()
    fleet = JournalCheckingFleet(journal)
    result = await manager(journal, fleet, n=3).dispatch(signal(power_kw=30.0))
    assert result.status is DispatchStatus.FULFILLED
    assert journal.started == ["sig-1"]
    assert len(fleet.orders) == len(journal.orders) == 3
    assert journal.results == [result]


async def test_a_journal_that_cannot_write_orders_fails_the_dispatch_and_sends_nothing() -> None:
    """orders_sent raising: no order is published, the dispatch fails saying why, and the
    vehicles booked for it are free again."""
    journal = MemoryJournal(fail_orders_at=1)
    fleet = JournalCheckingFleet(journal)
    m = manager(journal, fleet)
    result = await m.dispatch(signal(power_kw=30.0))
    assert fleet.orders == []
    assert result.status is DispatchStatus.FAILED
    assert result.reason is not None
    assert result.reason.startswith("journal unavailable")
    assert result.acknowledged_kw == 0.0
    assert len(m.ledger) == 0
    assert journal.results == [result]


async def test_a_journal_failing_in_a_fallback_round_keeps_what_round_zero_got() -> None:
    """The fallback round's orders cannot be journaled: they are not sent, the dispatch
    ends with round 0's acknowledged power and a reason naming the journal."""
    journal = MemoryJournal(fail_orders_at=2)
    fleet = JournalCheckingFleet(journal)
    fleet.overrides = {"v0": Behaviour.always(Reply.REJECT)}
    m = manager(journal, fleet, fallback=BalancedFallback())
    result = await m.dispatch(signal(power_kw=30.0))
    assert result.status is DispatchStatus.PARTIAL
    assert result.rounds == 1
    assert result.acknowledged_kw == pytest.approx(22.5)  # 7.5 kW from each of v1..v3
    assert result.reason is not None
    assert "journal unavailable" in result.reason
    assert {o.round for o in fleet.orders} == {0}


async def test_a_journal_that_cannot_write_the_signal_fails_the_dispatch_at_once() -> None:
    """dispatch_started raising: nothing is allocated or sent; the result says why."""
    journal = MemoryJournal(fail_start=True)
    fleet = JournalCheckingFleet(journal)
    result = await manager(journal, fleet).dispatch(signal(power_kw=30.0))
    assert result.status is DispatchStatus.FAILED
    assert result.reason == "journal unavailable: database away"
    assert fleet.orders == []


async def test_a_signal_id_the_journal_knows_returns_its_stored_result_without_orders() -> None:
    """After a restart the journal may know a signal id the manager forgot: its stored
    result is returned and no order leaves."""
    first = rig([vehicle("v0")])
    stored = await first.manager.dispatch(signal(power_kw=5.0))
    journal = MemoryJournal(stored={"sig-1": stored})
    fleet = JournalCheckingFleet(journal)
    m = manager(journal, fleet)
    assert await m.dispatch(signal(power_kw=5.0)) == stored
    assert fleet.orders == []
    assert journal.results == []


async def test_acks_reach_the_journal_with_their_verdicts() -> None:
    """Matched, duplicate, late and unknown acks are all handed to the journal, classified,
    with the order they name (None for an unknown one)."""
    journal = MemoryJournal()
    fleet = JournalCheckingFleet(journal)
    fleet.overrides = {
        "v0": Behaviour(duplicate=1.0),
        "v1": Behaviour.always(Reply.LATE, late_s=0.01),
    }
    m = manager(journal, fleet, n=2)
    await m.dispatch(signal(power_kw=20.0))
    await asyncio.sleep(0.05)  # the late ack arrives after the round closed
    m.handle_ack(Ack("no-such-order", "v0", AckStatus.ACCEPTED, 1.0))
    verdicts = [(a.vehicle_id, v) for a, v, _ in journal.acks]
    assert verdicts == [
        ("v0", AckVerdict.MATCHED),
        ("v0", AckVerdict.DUPLICATE),
        ("v1", AckVerdict.LATE),
        ("v0", AckVerdict.UNKNOWN),
    ]
    assert [o.vehicle_id if o else None for _, _, o in journal.acks] == ["v0", "v0", "v1", None]


def test_the_default_journal_writes_nothing() -> None:
    """Without a journal the manager uses NopJournal (in-process use, benchmarks)."""
    assert isinstance(rig([vehicle("v0")]).manager.journal, NopJournal)
