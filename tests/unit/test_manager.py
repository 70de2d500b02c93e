"""DispatchManager scenarios through a simulated fleet: acks, timeouts, fallbacks, idempotency."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import numpy as np
import pytest
from structlog.testing import capture_logs

from dispatch import (
    Ack,
    AckStatus,
    AckVerdict,
    BalancedFallback,
    ConfigurationError,
    DispatchStatus,
    EqualDispatcher,
    LPDispatcher,
    OutcomeTuner,
    ProbabilisticFallback,
    SmartDispatcher,
)
from dispatch.events import (
    DispatchCompleted,
    DispatchEvent,
    DispatchStarted,
    FallbackApplied,
    OrdersSent,
)
from dispatch.fallbacks import FallbackContext
from fleet import FleetRegistry
from metrics import catalog as m
from tests.support import ACK_TIMEOUT_S, T0, rig, signal, vehicle
from v2g.sim import Behaviour, Reply

REJECT = Behaviour.always(Reply.REJECT)
SILENT = Behaviour.always(Reply.SILENT)


def _fleet(n: int, **kw: object) -> list:
    return [vehicle(f"v{i}", **kw) for i in range(n)]


async def test_all_accept_fulfils_in_one_round() -> None:
    """Every vehicle accepts: fulfilled, acknowledged == requested, one round, metrics recorded."""
    r = rig(_fleet(5))
    result = await r.manager.dispatch(signal(power_kw=30.0))
    assert result.status is DispatchStatus.FULFILLED
    assert result.acknowledged_kw == pytest.approx(30.0)
    assert result.allocated_kw == pytest.approx(30.0)
    assert result.rounds == 1
    assert {o.outcome.value for o in result.vehicles} == {"accepted"}
    assert r.metrics.total(m.DISPATCHES, status="fulfilled") == 1
    assert r.metrics.total(m.ORDERS_SENT, round="initial") == 5
    assert r.metrics.total(m.ACKS, outcome="accepted") == 5


async def test_filtered_out_vehicles_never_receive_orders() -> None:
    """Offline, unplugged, low-SoC, powerless and other-site vehicles get no order; the
    filter's reasons are counted (the fleet source already scopes vehicles to the site)."""
    vs = [
        vehicle("ok"),
        vehicle("off", online=False),
        vehicle("unplugged", plugged_in=False),
        vehicle("low", soc_pct=25.0),
        vehicle("elsewhere", site_id="11"),
        vehicle("no-power", max_discharge_kw=0.0),
    ]
    r = rig(vs)
    result = await r.manager.dispatch(signal(power_kw=30.0))
    assert {o.vehicle_id for o in r.fleet.orders} == {"ok"}
    assert result.excluded == {
        "offline": 1,
        "unplugged": 1,
        "soc_window": 1,
        "no_capacity": 1,
    }
    assert result.status is DispatchStatus.PARTIAL
    assert result.acknowledged_kw == pytest.approx(10.0)


async def test_refusals_are_reallocated_by_the_balanced_fallback() -> None:
    """Two refusers out of six: Balanced gives their share to the four that accepted."""
    r = rig(
        _fleet(6),
        overrides={"v0": REJECT, "v1": REJECT},
        dispatcher=EqualDispatcher(),
        fallback=BalancedFallback(),
    )
    result = await r.manager.dispatch(signal(power_kw=36.0))
    assert result.status is DispatchStatus.FULFILLED
    assert result.acknowledged_kw == pytest.approx(36.0)
    assert result.rounds == 2
    assert result.reallocated_kw == pytest.approx(12.0)
    followups = [o for o in r.fleet.orders if o.round > 0]
    assert {o.vehicle_id for o in followups} <= {"v2", "v3", "v4", "v5"}
    outcomes = {o.vehicle_id: o.outcome.value for o in result.vehicles}
    assert outcomes["v0"] == outcomes["v1"] == "rejected"
    assert r.metrics.total(m.FALLBACK_ROUNDS, fallback="balanced") == 1


async def test_silent_vehicles_time_out_together_under_one_timeout() -> None:
    """Twenty silent vehicles cost one ack timeout, not twenty: acks are gathered concurrently."""
    r = rig(_fleet(20), SILENT, ack_timeout_s=0.2)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    result = await r.manager.dispatch(signal(power_kw=100.0))
    elapsed = loop.time() - t0
    assert 0.2 <= elapsed < 0.2 * 3
    assert result.status is DispatchStatus.FAILED
    assert {o.outcome.value for o in result.vehicles} == {"timeout"}
    assert r.metrics.total(m.ACK_TIMEOUTS) == 20
    assert "timeout 20" in (result.reason or "")


async def test_late_ack_is_counted_but_never_credited() -> None:
    """An ack after its order expired is counted as late, and its power is not acknowledged."""
    late = Behaviour.always(Reply.LATE, late_s=0.01)
    # responders answer after 20 ms, so the fallback round is still open at 60 ms
    r = rig(
        _fleet(3),
        Behaviour(latency_s=(0.02, 0.02)),
        overrides={"v0": late},
        fallback=BalancedFallback(),
    )
    result = await r.manager.dispatch(signal(power_kw=15.0))
    outcomes = {o.vehicle_id: o for o in result.vehicles}
    assert outcomes["v0"].outcome.value == "timeout"
    assert outcomes["v0"].acknowledged_kw == 0.0
    assert result.late_acks == 1  # arrived during the fallback round
    assert result.acknowledged_kw == pytest.approx(15.0)
    assert r.metrics.total(m.ACKS_LATE) == 1


async def test_late_ack_after_the_result_only_reaches_metrics() -> None:
    """A late ack arriving after the dispatch ended changes nothing but the late counter."""
    late = Behaviour.always(Reply.LATE, late_s=0.02)
    r = rig(_fleet(2), overrides={"v0": late})
    result = await r.manager.dispatch(signal(power_kw=20.0))
    assert result.late_acks == 0
    with capture_logs() as logs:
        await asyncio.sleep(ACK_TIMEOUT_S)
    assert r.metrics.total(m.ACKS_LATE) == 1
    assert any(e["event"] == "ack_not_counted" and e["verdict"] == "late" for e in logs)
    assert r.manager.result("sig-1") is result


async def test_duplicate_acks_are_counted_once() -> None:
    """Every gateway answers twice: power is credited once, duplicates are counted."""
    r = rig(_fleet(4), Behaviour(duplicate=1.0))
    result = await r.manager.dispatch(signal(power_kw=40.0))
    assert result.acknowledged_kw == pytest.approx(40.0)
    await asyncio.sleep(0)
    assert r.metrics.total(m.ACKS_DUPLICATE) == 4
    assert r.metrics.total(m.ACKS, outcome="accepted") == 4


async def test_forged_and_unknown_acks_are_rejected() -> None:
    """An ack naming another vehicle's order, or no known order, is not counted."""
    r = rig(_fleet(2), SILENT, ack_timeout_s=0.5)
    sent = asyncio.Event()
    r.manager.events.subscribe(OrdersSent, lambda _: sent.set())
    task = asyncio.create_task(r.manager.dispatch(signal(power_kw=20.0)))
    await sent.wait()
    order_v0 = next(o for o in r.fleet.orders if o.vehicle_id == "v0")
    forged = Ack(order_v0.order_id, "v1", AckStatus.ACCEPTED, order_v0.power_kw)
    assert r.manager.handle_ack(forged) is AckVerdict.WRONG_VEHICLE
    assert r.manager.handle_ack(Ack("nope", "v0", AckStatus.ACCEPTED, 1.0)) is AckVerdict.UNKNOWN
    genuine = Ack(order_v0.order_id, "v0", AckStatus.ACCEPTED, 1e6)  # claims more than ordered
    assert r.manager.handle_ack(genuine) is AckVerdict.MATCHED
    result = await task
    v0 = next(o for o in result.vehicles if o.vehicle_id == "v0")
    assert v0.acknowledged_kw == pytest.approx(order_v0.power_kw)  # clamped to the order
    assert r.metrics.total(m.ACKS_UNMATCHED, reason="wrong_vehicle") == 1
    assert r.metrics.total(m.ACKS_UNMATCHED, reason="unknown") == 1


async def test_partial_acks_and_probabilistic_fallback_reach_idle_vehicles() -> None:
    """LP concentrates power; partial answers leave a residual that Probabilistic sends to
    vehicles not used yet, over-allocating within its bound."""
    vs = [vehicle(f"v{i}", availability=0.9, soc_pct=95.0 if i < 3 else 60.0) for i in range(8)]
    partial = Behaviour.always(Reply.PARTIAL, partial_fraction=(0.5, 0.5))
    r = rig(
        vs,
        overrides={f"v{i}": partial for i in range(3)},
        dispatcher=LPDispatcher(),
        fallback=ProbabilisticFallback(max_overallocation=0.25),
    )
    result = await r.manager.dispatch(signal(power_kw=27.0))
    first = {o.vehicle_id for o in r.fleet.orders if o.round == 0}
    later = {o.vehicle_id for o in r.fleet.orders if o.round > 0}
    assert first == {"v0", "v1", "v2"}  # the best scores
    assert later
    assert later.isdisjoint(first)
    assert later - first, "the fallback should reach vehicles the dispatcher left idle"
    assert result.allocated_kw <= 27.0 + 1e-9
    assert result.acknowledged_kw >= 27.0 - 1e-6
    partials = [o for o in result.vehicles if o.outcome.value == "partial"]
    assert len(partials) == 3


async def test_repeated_signal_id_returns_the_stored_result_and_sends_nothing() -> None:
    """The same signal_id twice: one dispatch, one set of orders, the same result."""
    r = rig(_fleet(3))
    first = await r.manager.dispatch(signal(power_kw=20.0))
    sent = len(r.fleet.orders)
    again = await r.manager.dispatch(signal(power_kw=99.0))
    assert again is first
    assert len(r.fleet.orders) == sent
    assert r.metrics.total(m.SIGNALS_REPEATED) == 1


async def test_concurrent_duplicates_of_a_signal_join_the_running_dispatch() -> None:
    """Two deliveries of one signal at once dispatch it once."""
    r = rig(_fleet(3), Behaviour(latency_s=(0.01, 0.01)))
    a, b = await asyncio.gather(
        r.manager.dispatch(signal(power_kw=20.0)), r.manager.dispatch(signal(power_kw=20.0))
    )
    assert a is b
    assert sorted(o.vehicle_id for o in r.fleet.orders) == ["v0", "v1", "v2"]


async def test_signals_for_different_sites_run_concurrently() -> None:
    """A slow site does not hold up another: site 11 completes while site 10 still waits."""
    vs = _fleet(3) + [vehicle(f"w{i}", site_id="11") for i in range(3)]
    slow = Behaviour(latency_s=(0.3, 0.3))
    r = rig(vs, overrides={f"v{i}": slow for i in range(3)}, ack_timeout_s=1.0)
    slow_task = asyncio.create_task(r.manager.dispatch(signal("a", site="10", power_kw=20.0)))
    await asyncio.sleep(0.01)
    fast = await r.manager.dispatch(signal("b", site="11", power_kw=20.0))
    assert fast.status is DispatchStatus.FULFILLED
    assert not slow_task.done()
    assert (await slow_task).status is DispatchStatus.FULFILLED


async def test_overlapping_signals_never_double_book_a_vehicle() -> None:
    """Two overlapping signals at one site split the fleet; a later period reuses it."""
    r = rig(_fleet(4), Behaviour(latency_s=(0.01, 0.01)), dispatcher=EqualDispatcher())
    first, second = await asyncio.gather(
        r.manager.dispatch(signal("a", power_kw=40.0)),
        r.manager.dispatch(signal("b", power_kw=40.0, start=T0 + timedelta(minutes=20))),
    )
    a_ids = {o.vehicle_id for o in first.vehicles}
    b_ids = {o.vehicle_id for o in second.vehicles}
    assert a_ids.isdisjoint(b_ids)
    assert first.acknowledged_kw + second.acknowledged_kw <= 40.0 + 1e-6
    assert second.excluded.get("committed", 0) == len(a_ids)
    later = await r.manager.dispatch(signal("c", power_kw=40.0, start=T0 + timedelta(hours=2)))
    assert later.status is DispatchStatus.FULFILLED


async def test_a_refusing_vehicle_is_released_for_the_next_signal() -> None:
    """Vehicles that delivered nothing are not kept booked."""
    r = rig(_fleet(2), overrides={"v0": REJECT})
    await r.manager.dispatch(signal("a", power_kw=20.0))
    assert not r.manager.ledger.is_committed("10", "v0", T0, T0 + timedelta(hours=1))
    assert r.manager.ledger.is_committed("10", "v1", T0, T0 + timedelta(hours=1))


async def test_expired_signal_and_empty_site_fail_with_a_reason() -> None:
    """A signal whose period has ended, or a site without eligible vehicles, sends nothing."""
    r = rig(_fleet(2))
    old = await r.manager.dispatch(signal("old", start=T0 - timedelta(hours=1)))
    empty = await r.manager.dispatch(signal("empty", site="99"))
    assert old.status is empty.status is DispatchStatus.FAILED
    assert old.reason == "signal period already ended"
    assert empty.reason == "no eligible vehicle"
    assert r.fleet.orders == []


async def test_broker_down_marks_orders_unsent_and_loses_nothing() -> None:
    """The publisher fails: every order is reported unsent, nothing stays booked."""
    r = rig(_fleet(3), fallback=BalancedFallback())
    r.fleet.down = True
    with capture_logs() as logs:
        result = await r.manager.dispatch(signal(power_kw=20.0))
    assert result.status is DispatchStatus.FAILED
    assert {o.outcome.value for o in result.vehicles} == {"unsent"}
    assert any(e["event"] == "publish_failed" for e in logs)
    assert len(r.manager.ledger) == 0


async def test_unreachable_vehicle_is_unsent_and_others_cover_it() -> None:
    """One order cannot be published; the fallback moves its power to a responder."""
    r = rig(_fleet(3), unreachable=["v0"], fallback=BalancedFallback())
    result = await r.manager.dispatch(signal(power_kw=15.0))
    outcomes = {o.vehicle_id: o.outcome.value for o in result.vehicles}
    assert outcomes["v0"] == "unsent"
    assert result.status is DispatchStatus.FULFILLED


async def test_events_flow_and_a_failing_subscriber_breaks_nothing() -> None:
    """Subscribers see started, orders sent, fallback and completed; a raising one is isolated."""
    r = rig(_fleet(3), overrides={"v0": REJECT}, fallback=BalancedFallback())
    seen: list[DispatchEvent] = []

    def broken(event: DispatchEvent) -> None:
        raise RuntimeError("subscriber bug")

    r.manager.events.subscribe(DispatchEvent, broken)
    r.manager.events.subscribe(DispatchEvent, seen.append)
    result = await r.manager.dispatch(signal(power_kw=20.0))
    await r.manager.events.drain()
    kinds = [type(e) for e in seen]
    assert kinds[0] is DispatchStarted
    assert kinds.count(OrdersSent) == 2
    assert FallbackApplied in kinds
    assert kinds[-1] is DispatchCompleted
    assert result.status is DispatchStatus.FULFILLED
    assert r.manager.events.failures == len(seen)


async def test_tuner_adapts_weights_and_participation_is_recorded() -> None:
    """Unreliable vehicles (low availability) time out; the tuner raises the availability
    weight; vehicles that delivered gain participation."""
    reliable = [vehicle(f"r{i}", availability=1.0) for i in range(6)]
    shaky = [vehicle(f"s{i}", availability=0.4) for i in range(6)]
    smart = SmartDispatcher()
    before = smart.weights.get("peak_shaving").availability
    r = rig(
        reliable + shaky,
        overrides={f"s{i}": SILENT for i in range(6)},
        dispatcher=smart,
        tuner=OutcomeTuner(),
    )
    await r.manager.dispatch(signal(power_kw=30.0))
    assert smart.weights.get("peak_shaving").availability > before
    assert r.manager.participation.score("10", "r0", T0 + timedelta(minutes=1)) == 1.0
    assert r.manager.participation.score("10", "s0", T0 + timedelta(minutes=1)) == 0.0
    assert r.metrics.total(m.TUNER_ADJUSTMENTS) == 1


async def test_dynamic_fleet_changes_are_seen_by_the_next_dispatch() -> None:
    """Vehicles appearing in or going offline from the registry change who gets orders."""
    registry = FleetRegistry()
    registry.upsert(vehicle("a"))
    r = rig(registry)
    first = await r.manager.dispatch(signal("1", power_kw=20.0, start=T0 + timedelta(hours=1)))
    registry.upsert(vehicle("b"))
    second = await r.manager.dispatch(signal("2", power_kw=20.0, start=T0 + timedelta(hours=2)))
    registry.set_online("10", "a", False)
    third = await r.manager.dispatch(signal("3", power_kw=20.0, start=T0 + timedelta(hours=3)))
    assert [len(x.vehicles) for x in (first, second, third)] == [1, 2, 1]
    assert third.excluded == {"offline": 1}


class _BrokenFallback:
    """A fallback with a bug: it returns one amount too many."""

    name = "broken"

    def reallocate(self, ctx: FallbackContext) -> np.ndarray:
        return np.ones(len(ctx.candidates) + 1)


async def test_a_strategy_bug_raises_and_leaves_nothing_booked() -> None:
    """A fallback returning the wrong shape (after round 0 booked vehicles) raises
    ConfigurationError; no vehicle stays booked, the failure is logged, and the signal can be
    dispatched again."""
    r = rig(_fleet(3), overrides={"v0": REJECT}, fallback=_BrokenFallback())
    with capture_logs() as logs, pytest.raises(ConfigurationError, match="broken returned"):
        await r.manager.dispatch(signal(power_kw=20.0))
    assert len(r.fleet.orders) == 3  # round 0 went out and booked its vehicles
    assert len(r.manager.ledger) == 0
    assert any(e["event"] == "dispatch_failed" for e in logs)
    assert r.manager.result("sig-1") is None
    r.manager.fallback = BalancedFallback()
    assert (await r.manager.dispatch(signal(power_kw=20.0))).status is DispatchStatus.FULFILLED
