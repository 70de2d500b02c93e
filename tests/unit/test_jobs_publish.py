"""Schedules out to the gateways: the payload built from a plan, and publishing every vehicle."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import structlog

from allocation import Trigger
from metrics import RecordingSink
from metrics import catalog as m
from scheduling import ChargePlan, schedule
from tests.scheduling.builders import T0, problem, route, vehicle
from tests.support import FixedClock
from v2g.jobs import InlineOffload, Offload, PlanningJobs, publish_schedules
from v2g.jobs.publish import SCHEDULE_PUBLISH_FAILURES
from v2g.mqtt import MqttTransportError, SchedulePayload
from v2g.planning.outcome import PlanOutcome

NOW = datetime(2024, 12, 30, 13, 55, tzinfo=UTC)
SITE = "10"


def tiny_plan() -> ChargePlan:
    """Three vans over 4 h: two charge for their routes, one has nothing to do."""
    vans = [vehicle("ev1", soc_pct=0.0), vehicle("ev2", soc_pct=20.0), vehicle("ev3")]
    routes = [route("r1", "ev1", 2, 3, energy_kwh=11.0), route("r2", "ev2", 3, 4, energy_kwh=15.0)]
    prices = [0.30, 0.10, 0.25, 0.05, 0.01, 0.20, 0.20, 0.20]
    p = problem(vans, routes, prices=prices).model_copy(update={"site_id": SITE})
    return schedule(p)


class FakeGateways:
    """Plays the broker side of SchedulePublish: keeps every payload, can refuse vehicles."""

    def __init__(self, *, refuse: frozenset[str] = frozenset(), delay_s: float = 0.0) -> None:
        self.refuse = refuse
        self.delay_s = delay_s
        self.received: dict[str, list[SchedulePayload]] = defaultdict(list)
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, site_id: str, vehicle_id: str, payload: SchedulePayload) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
            if vehicle_id in self.refuse:
                raise MqttTransportError("broker connection lost")
            assert site_id == SITE
            self.received[vehicle_id].append(payload)
        finally:
            self.in_flight -= 1


def test_the_payload_lists_every_slot_of_the_plan_with_its_power() -> None:
    """One slot per plan slot, back to back from the window start, idle slots kept at 0 kW."""
    plan = tiny_plan()
    payload = SchedulePayload.from_plan(plan, "ev1", NOW, run_id="sched-7")
    powers = next(v.power_kw for v in plan.vehicles if v.vehicle_id == "ev1")
    assert len(payload.slots) == plan.n_slots == len(powers)
    assert [s.power_kw for s in payload.slots] == pytest.approx(powers, abs=1e-3)
    assert 0.0 in [s.power_kw for s in payload.slots]
    step = timedelta(minutes=plan.slot_minutes)
    assert [s.start for s in payload.slots] == [T0 + i * step for i in range(plan.n_slots)]
    assert all(s.end - s.start == step for s in payload.slots)
    assert all(s.direction == "charge" for s in payload.slots)
    assert (payload.site_id, payload.vehicle_id, payload.run_id) == (SITE, "ev1", "sched-7")
    assert (payload.window_start, payload.slot_minutes, payload.generated_at) == (T0, 30, NOW)


def test_the_payload_is_valid_on_the_wire() -> None:
    """The JSON of a payload built without validation passes the model's own validation."""
    payload = SchedulePayload.from_plan(tiny_plan(), "ev2", NOW)
    assert SchedulePayload.model_validate_json(payload.model_dump_json()) == payload


def test_a_vehicle_missing_from_the_plan_is_an_error() -> None:
    """Asking for the schedule of a vehicle the plan does not have raises KeyError."""
    with pytest.raises(KeyError, match="ev9"):
        SchedulePayload.from_plan(tiny_plan(), "ev9", NOW)


async def test_every_vehicle_gets_its_own_schedule() -> None:
    """One payload per vehicle of the plan, with that vehicle's kW per slot, all counted."""
    plan, gateways, sink = tiny_plan(), FakeGateways(), RecordingSink()
    report = await publish_schedules(plan, gateways, sink=sink, clock=FixedClock(NOW))
    assert sorted(report.published) == ["ev1", "ev2", "ev3"]
    assert report.failed == ()
    for vp in plan.vehicles:
        (payload,) = gateways.received[vp.vehicle_id]
        assert [s.power_kw for s in payload.slots] == pytest.approx(vp.power_kw, abs=1e-3)
        assert payload.generated_at == NOW
    assert sink.total(m.SCHEDULES_PUBLISHED, site=SITE) == 3


async def test_a_vehicle_that_fails_does_not_stop_the_others() -> None:
    """A refused publication is logged and counted; every other vehicle still gets its plan."""
    gateways, sink = FakeGateways(refuse=frozenset({"ev2"})), RecordingSink()
    with structlog.testing.capture_logs() as logs:
        report = await publish_schedules(
            tiny_plan(), gateways, sink=sink, clock=FixedClock(NOW), concurrency=1
        )
    assert report.failed == ("ev2",)
    assert sorted(gateways.received) == ["ev1", "ev3"]
    assert sink.total(SCHEDULE_PUBLISH_FAILURES, site=SITE) == 1
    assert sink.total(m.SCHEDULES_PUBLISHED, site=SITE) == 2
    (event,) = [e for e in logs if e["event"] == "schedule_publish_failed"]
    assert (event["site_id"], event["vehicle_id"]) == (SITE, "ev2")
    assert "broker connection lost" in event["error"]


async def test_publications_in_flight_are_bounded() -> None:
    """At most ``concurrency`` publications wait at once, yet they do overlap."""
    gateways = FakeGateways(delay_s=0.02)
    await publish_schedules(
        tiny_plan(), gateways, sink=RecordingSink(), clock=FixedClock(NOW), concurrency=2
    )
    assert gateways.max_in_flight == 2
    assert len(gateways.received) == 3


async def test_a_planning_run_publishes_its_plan_to_every_vehicle() -> None:
    """After a run, the jobs publish each vehicle's schedule, tagged with the schedule run id."""
    plan = tiny_plan()

    async def plan_site(site_id: str, trigger: Trigger, offload: Offload) -> PlanOutcome:
        return PlanOutcome(site_id, trigger, None, None, plan, "sched-42")

    gateways, sink = FakeGateways(), RecordingSink()
    async with PlanningJobs(
        plan_site,
        InlineOffload(),
        [SITE],
        interval_s=60.0,
        sink=sink,
        publish_schedules=gateways,
        clock=FixedClock(NOW),
    ) as running:
        await asyncio.wait_for(running.wait_for_run(SITE, after=0), 5.0)
    assert sorted(gateways.received) == ["ev1", "ev2", "ev3"]
    assert {p.run_id for ps in gateways.received.values() for p in ps} == {"sched-42"}
    assert sink.total(m.SCHEDULES_PUBLISHED, site=SITE) == 3
