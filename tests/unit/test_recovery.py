"""Recovery after a restart: in-flight dispatches completed from the journal, with fakes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from dispatch import Ack, AckStatus, AckVerdict, DispatchResult, DispatchStatus, Order, Outcome
from dispatch.commitments import CommitmentLedger
from fleet import Direction
from metrics import RecordingSink
from metrics import catalog as m
from tests.support import T0, FixedClock, signal
from v2g.recovering import RECOVERED, UNRECOVERABLE
from v2g.recovery import Recovery
from v2g.storage.journal_records import InFlightDispatch, JournaledAck

SIGNAL = signal("sig-1", power_kw=30.0)


def order(vid: str, kw: float = 10.0, rnd: int = 0) -> Order:
    """Order ``o{rnd}-{vid}`` of ``SIGNAL``."""
    return Order(
        f"o{rnd}-{vid}",
        SIGNAL.signal_id,
        SIGNAL.site_id,
        vid,
        Direction.DISCHARGE,
        kw,
        SIGNAL.start,
        SIGNAL.end,
        T0 + timedelta(seconds=5),
        rnd,
    )


def accept(o: Order, kw: float | None = None, vid: str | None = None) -> Ack:
    """``o``'s vehicle (or ``vid``) accepting ``kw`` (default: all of it)."""
    return Ack(
        o.order_id, vid or o.vehicle_id, AckStatus.ACCEPTED, o.power_kw if kw is None else kw
    )


def in_flight(
    orders: Sequence[Order], acks: Sequence[tuple[Ack, AckVerdict]] = (), timeout_s: float = 5.0
) -> InFlightDispatch:
    """What the journal holds for ``SIGNAL`` after a crash."""
    return InFlightDispatch(
        signal=SIGNAL,
        dispatcher="smart",
        fallback="balanced",
        ack_timeout_s=timeout_s,
        received_at=T0,
        orders=tuple(orders),
        acks=tuple(JournaledAck(a, v, T0) for a, v in acks),
    )


@dataclass
class FakeJournal:
    """The journal's recovery side in memory; it records what recovery writes."""

    found: list[InFlightDispatch]
    acks: list[tuple[str, AckVerdict]] = field(default_factory=list)
    completed: list[DispatchResult] = field(default_factory=list)
    failed: list[DispatchResult] = field(default_factory=list)
    orders_written: list[Order] = field(default_factory=list)

    async def in_flight(self, sites: Sequence[str] | None = None) -> list[InFlightDispatch]:
        return [f for f in self.found if sites is None or f.signal.site_id in sites]

    def ack_received(
        self, ack: Ack, verdict: AckVerdict, order: Order | None, at: datetime
    ) -> None:
        self.acks.append((ack.order_id, verdict))

    async def orders_sent(self, orders: Sequence[Order], at: datetime) -> None:
        self.orders_written.extend(orders)  # recovery must never call this

    async def mark_completed(self, result: DispatchResult) -> None:
        self.completed.append(result)

    async def mark_failed(self, result: DispatchResult) -> None:
        self.failed.append(result)


@dataclass
class Rig:
    """A recovery over a fake journal, with what it delivered."""

    recovery: Recovery
    journal: FakeJournal
    metrics: RecordingSink
    ledger: CommitmentLedger
    delivered: list[DispatchResult]


async def loaded(*found: InFlightDispatch) -> Rig:
    """A recovery that has loaded ``found`` for site 10."""
    journal = FakeJournal(list(found))
    delivered: list[DispatchResult] = []

    async def deliver(result: DispatchResult) -> None:
        delivered.append(result)

    sink, ledger = RecordingSink(), CommitmentLedger()
    recovery = Recovery(journal, clock=FixedClock(), on_result=deliver, ledger=ledger, metrics=sink)
    assert await recovery.load(["10"]) == len(found)
    return Rig(recovery, journal, sink, ledger, delivered)


async def test_acks_after_a_restart_are_credited_once() -> None:
    """The first answer to each open order counts, a repeat does not; once every order is
    answered the dispatch completes at once, journaled, delivered and counted."""
    o0, o1, o2 = order("v0"), order("v1"), order("v2")
    r = await loaded(in_flight([o0, o1, o2], [(accept(o0), AckVerdict.MATCHED)]))
    assert r.recovery.handle_ack(accept(o1)) is AckVerdict.MATCHED
    assert r.recovery.handle_ack(accept(o1)) is AckVerdict.DUPLICATE
    assert r.recovery.handle_ack(accept(o2, 4.0)) is AckVerdict.MATCHED
    [result] = await asyncio.wait_for(r.recovery.run(), 1.0)
    assert result.status is DispatchStatus.PARTIAL
    assert result.acknowledged_kw == pytest.approx(24.0)
    assert result.duplicate_acks == 1
    assert result.reason is not None
    assert result.reason.startswith(RECOVERED)
    assert {v.vehicle_id: v.outcome for v in result.vehicles} == {
        "v0": Outcome.ACCEPTED,
        "v1": Outcome.ACCEPTED,
        "v2": Outcome.PARTIAL,
    }
    assert r.journal.acks == [
        (o1.order_id, AckVerdict.MATCHED),
        (o1.order_id, AckVerdict.DUPLICATE),
        (o2.order_id, AckVerdict.MATCHED),
    ]
    assert r.journal.completed == r.delivered == [result]
    assert await r.recovery.result_of("sig-1") == result
    assert r.metrics.total(m.DISPATCHES_RECOVERED, site="10", status="partial") == 1


async def test_an_ack_journaled_before_the_crash_is_not_credited_again() -> None:
    """The broker may deliver again an ack the service had journaled: it is a duplicate."""
    o0, o1 = order("v0"), order("v1")
    r = await loaded(in_flight([o0, o1], [(accept(o0), AckVerdict.MATCHED)]))
    assert r.recovery.handle_ack(accept(o0)) is AckVerdict.DUPLICATE
    assert r.recovery.handle_ack(accept(o1)) is AckVerdict.MATCHED
    [result] = await r.recovery.run()
    assert result.acknowledged_kw == pytest.approx(20.0)


async def test_the_grace_period_completes_a_partial_result_and_releases_the_silent() -> None:
    """Orders still unanswered ``ack_timeout_s`` after the restart time out; the result is
    partial; vehicles that delivered nothing lose their booking, the others keep it."""
    o0, o1, o2 = order("v0"), order("v1"), order("v2")
    r = await loaded(in_flight([o0, o1, o2], [(accept(o0), AckVerdict.MATCHED)], timeout_s=0.05))
    assert r.ledger.busy("10", SIGNAL.start, SIGNAL.end) == {"v0", "v1", "v2"}
    r.recovery.handle_ack(accept(o1, 5.0))
    [result] = await asyncio.wait_for(r.recovery.run(), 1.0)
    assert result.status is DispatchStatus.PARTIAL
    assert result.acknowledged_kw == pytest.approx(15.0)
    assert {v.vehicle_id: v.outcome for v in result.vehicles}["v2"] is Outcome.TIMEOUT
    assert r.ledger.busy("10", SIGNAL.start, SIGNAL.end) == {"v0", "v1"}
    assert r.recovery.handle_ack(accept(o2)) is AckVerdict.LATE  # after completion: late


async def test_nothing_is_ordered_again() -> None:
    """Recovery completes with the journaled orders only: no order is written or sent, the
    result's ordered power is the journal's, fallback rounds included."""
    o0, o1 = order("v0"), order("v1", 5.0, rnd=1)
    r = await loaded(in_flight([o0, o1], timeout_s=0.01))
    [result] = await r.recovery.run()
    assert r.journal.orders_written == []
    assert (result.allocated_kw, result.reallocated_kw, result.rounds) == (10.0, 5.0, 2)
    assert result.status is DispatchStatus.FAILED
    assert result.dispatcher == "smart"
    assert result.fallback == "balanced"


async def test_an_answer_to_an_earlier_round_is_late_and_not_credited() -> None:
    """An order of round 0 was closed by round 1: its answer after the restart is late,
    a second one a duplicate; round 1's order is still open."""
    early, last = order("v0"), order("v1", rnd=1)
    r = await loaded(in_flight([early, last], timeout_s=0.05))
    assert r.recovery.handle_ack(accept(early)) is AckVerdict.LATE
    assert r.recovery.handle_ack(accept(early)) is AckVerdict.DUPLICATE
    assert r.recovery.handle_ack(accept(last)) is AckVerdict.MATCHED
    [result] = await r.recovery.run()
    assert result.acknowledged_kw == pytest.approx(10.0)
    assert (result.late_acks, result.duplicate_acks) == (1, 1)


async def test_an_ack_from_the_wrong_vehicle_is_journaled_not_credited() -> None:
    """An ack naming a recovered order but sent by another vehicle is classified so."""
    o0 = order("v0")
    r = await loaded(in_flight([o0], timeout_s=0.01))
    assert r.recovery.handle_ack(accept(o0, vid="v9")) is AckVerdict.WRONG_VEHICLE
    assert r.journal.acks == [(o0.order_id, AckVerdict.WRONG_VEHICLE)]
    [result] = await r.recovery.run()
    assert result.acknowledged_kw == 0.0


async def test_acks_for_orders_it_does_not_know_are_left_to_the_manager() -> None:
    """handle_ack returns None for an order id no recovered dispatch has."""
    r = await loaded(in_flight([order("v0")]))
    assert r.recovery.handle_ack(Ack("other", "v0", AckStatus.ACCEPTED, 1.0)) is None
    assert r.journal.acks == []


async def test_a_dispatch_without_journaled_orders_is_marked_failed() -> None:
    """A crash before the orders were written: nothing was sent; the dispatch fails, and
    the reason says it could not be recovered."""
    r = await loaded(in_flight([]))
    [result] = await r.recovery.run()
    assert result.status is DispatchStatus.FAILED
    assert result.reason == UNRECOVERABLE
    assert r.journal.failed == r.delivered == [result]
    assert r.journal.completed == []
    assert r.metrics.total(m.DISPATCHES_RECOVERED, status="failed") == 1
