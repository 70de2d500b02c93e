"""End to end over a real broker: operator -> service -> simulated gateways -> service -> operator.

Every dispatcher x fallback pair against a :class:`GatewayFleet`; a vehicle going offline in
the middle of a dispatch; and the broker restarting while a dispatch waits for its acks (that
test starts its own mosquitto on a free port, so it can stop and start it).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from dispatch.models import DispatchStatus, Outcome
from dispatch.state import tolerance_kw
from fleet import Direction, Vehicle
from tests.integration.gateway import eventually
from tests.integration.local_broker import HOST, free_port, require_binary, wait_for_port
from tests.integration.test_service import SITE, service_settings
from v2g.cli_service import send_signal
from v2g.mqtt import MqttSettings, ResultPayload, SignalPayload, Topics
from v2g.service import Service
from v2g.sim import make_fleet
from v2g.sim.behaviour import Behaviour
from v2g.simulator.gateways import GatewayFleet
from v2g.strategies import DISPATCHERS, FALLBACKS

REALISTIC = Behaviour(
    accept=0.75, partial=0.10, reject=0.10, silent=0.05, latency_s=(0.01, 0.08), duplicate=0.02
)
PROMPT = Behaviour(latency_s=(0.01, 0.03))


def discharge(signal_id: str, power_kw: float, start_in: timedelta) -> SignalPayload:
    """A 30-minute discharge signal starting ``start_in`` from now."""
    return SignalPayload(
        signal_id=signal_id,
        type="peak_shaving",
        direction="discharge",
        power_kw=power_kw,
        start=datetime.now(UTC) + start_in,
        duration_s=1800,
    )


def van(vehicle_id: str) -> Vehicle:
    """A plugged-in van that can discharge its full 10 kW for half an hour."""
    return Vehicle(
        vehicle_id=vehicle_id, site_id=SITE, soc_pct=80.0, battery_kwh=75.0,
        max_charge_kw=11.0, max_discharge_kw=10.0,
    )  # fmt: skip


def check_invariants(result: ResultPayload, capacity_kw: dict[str, float]) -> None:
    """Orders within each vehicle's capacity; outcomes and status agree with the acked kW."""
    tol = tolerance_kw(result.requested_kw)
    for v in result.vehicles:
        assert v.ordered_kw <= capacity_kw[v.vehicle_id] + tol, v
        assert 0.0 <= v.acknowledged_kw <= v.ordered_kw + tol, v
        if v.outcome is Outcome.ACCEPTED:
            assert v.acknowledged_kw >= v.ordered_kw - tol, v
        elif v.outcome is Outcome.PARTIAL:
            assert 0.0 < v.acknowledged_kw < v.ordered_kw, v
        else:
            assert v.acknowledged_kw == 0.0, v
    assert sum(v.acknowledged_kw for v in result.vehicles) == pytest.approx(result.acknowledged_kw)
    if result.acknowledged_kw >= result.requested_kw - tol:
        assert result.status is DispatchStatus.FULFILLED
    elif result.acknowledged_kw > tol:
        assert result.status is DispatchStatus.PARTIAL
    else:
        assert result.status is DispatchStatus.FAILED


@pytest.mark.parametrize("fallback", list(FALLBACKS))
@pytest.mark.parametrize("dispatcher", list(DISPATCHERS))
async def test_every_pair_dispatches_through_the_broker_to_simulated_gateways(
    settings: MqttSettings, dispatcher: str, fallback: str
) -> None:
    """A signal goes out as orders to the gateways, their acks come back, the result is
    published: per vehicle never more than its capacity, outcomes and status consistent."""
    fleet = make_fleet(24, SITE, seed=11)
    svc = service_settings(settings, dispatcher=dispatcher, fallback=fallback, ack_timeout_s=0.5)
    async with (
        GatewayFleet(settings, SITE, fleet, REALISTIC, seed=5),
        Service(svc, mqtt=settings, fleet_settle_s=0.05) as service,
    ):
        await eventually(lambda: len(service.registry) == len(fleet), timeout_s=5.0)
        await asyncio.wait_for(service.heap_frozen.wait(), 5.0)  # no collection mid-dispatch
        known = {v.vehicle_id: v for v in service.registry.snapshot(SITE)}
        capacity = {vid: v.effective_capacity(Direction.DISCHARGE, 0.5) for vid, v in known.items()}
        power_kw = round(0.5 * sum(capacity.values()), 1)
        signal = discharge(f"e2e-{dispatcher}-{fallback}", power_kw, timedelta(minutes=1))
        result = await send_signal(settings, SITE, signal, timeout_s=5.0)
    assert result is not None
    assert (result.dispatcher, result.fallback) == (dispatcher, fallback)
    assert result.status is not DispatchStatus.FAILED
    assert {v.vehicle_id for v in result.vehicles} <= {v.vehicle_id for v in fleet if v.online}
    check_invariants(result, capacity)


@asynccontextmanager
async def vanishing_gateway(settings: MqttSettings, vehicle: Vehicle) -> AsyncIterator[None]:
    """A gateway that, on its first order, says it is offline and never answers."""
    topics = Topics(settings.topic_prefix)
    offline = b'{"online": false}'
    will = aiomqtt.Will(topics.online(SITE, vehicle.vehicle_id), offline, 1, True)
    async with aiomqtt.Client(settings.host, settings.port, will=will, timeout=3.0) as c:
        status = {
            "ts": datetime.now(UTC).isoformat(),
            **vehicle.model_dump(
                mode="json",
                include={"soc_pct", "battery_kwh", "plugged_in", "max_charge_kw"}
                | {"max_discharge_kw", "availability", "degradation"},
            ),
        }
        vid = vehicle.vehicle_id
        await c.publish(topics.status(SITE, vid), json.dumps(status), qos=1, retain=True)
        await c.publish(topics.online(SITE, vid), b'{"online": true}', qos=1, retain=True)
        await c.subscribe(topics.order(SITE, vid), qos=1)

        async def vanish() -> None:
            async for _ in c.messages:
                await c.publish(topics.online(SITE, vid), offline, qos=1, retain=True)
                return

        task = asyncio.create_task(vanish(), name="vanishing-gateway")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_vehicle_going_offline_mid_dispatch_times_out_and_is_excluded_next(
    settings: MqttSettings,
) -> None:
    """The vehicle that drops after its order times out, the fallback gives its share to the
    others, the registry marks it offline, and the next signal leaves it out as offline."""
    others = [van(f"ev{i}") for i in range(3)]
    svc = service_settings(settings, dispatcher="equal", fallback="balanced", ack_timeout_s=0.5)
    async with (
        GatewayFleet(settings, SITE, others, PROMPT),
        vanishing_gateway(settings, van("evoff")),
        Service(svc, mqtt=settings, fleet_settle_s=0.05) as service,
    ):
        await eventually(lambda: len(service.registry) == 4, timeout_s=5.0)
        await asyncio.wait_for(service.heap_frozen.wait(), 5.0)
        first = await send_signal(
            settings, SITE, discharge("sig-drop", 30.0, timedelta(minutes=1)), timeout_s=5.0
        )

        def gone() -> bool:
            vehicle = service.registry.get(SITE, "evoff")
            return vehicle is not None and not vehicle.online

        await eventually(gone)
        second = await send_signal(
            settings, SITE, discharge("sig-next", 20.0, timedelta(hours=1)), timeout_s=5.0
        )
    assert first is not None
    assert second is not None
    outcomes = {v.vehicle_id: v for v in first.vehicles}
    assert outcomes["evoff"].outcome is Outcome.TIMEOUT
    assert first.rounds >= 2
    assert first.reallocated_kw > 0
    assert first.acknowledged_kw == pytest.approx(30.0)  # 3 x 10 kW can cover it all
    assert first.status is DispatchStatus.FULFILLED
    assert "evoff" not in {v.vehicle_id for v in second.vehicles}
    assert second.excluded.get("offline") == 1
    assert second.status is DispatchStatus.FULFILLED


# -- a broker of the test's own, to restart ---------------------------------------------------


class OwnBroker:
    """A mosquitto on a free local port, without persistence, that the test can restart."""

    def __init__(self, binary: str, tmp: Path) -> None:
        self.port = free_port()
        self.config = tmp / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} {HOST}\nallow_anonymous true\npersistence false\n"
        )
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start mosquitto and wait until it listens."""
        self.process = subprocess.Popen(  # noqa: S603  (a fixed binary and our own config)
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        """Stop mosquitto (SIGTERM, then SIGKILL)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    """A started :class:`OwnBroker`, stopped after the test."""
    broker = OwnBroker(
        require_binary("mosquitto", "the broker restart test starts its own broker"), tmp_path
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def test_a_broker_restart_during_a_dispatch_is_survived(own_broker: OwnBroker) -> None:
    """The broker restarts while a dispatch waits for acks: the service reconnects, the
    dispatch ends as a reported failed/partial result published after the reconnect, and the
    next signal is fulfilled."""
    settings = MqttSettings(
        host=HOST,
        port=own_broker.port,
        topic_prefix="restart",
        connect_timeout_s=3.0,
        operation_timeout_s=3.0,
        reconnect_initial_s=0.05,
        reconnect_max_s=0.2,
    )
    fleet = [van(f"ev{i}") for i in range(4)]
    slow = Behaviour(latency_s=(0.8, 1.0))  # the acks would come after the restart
    svc = service_settings(settings, fallback="noop", ack_timeout_s=2.0)
    topics = Topics(settings.topic_prefix)
    async with Service(svc, mqtt=settings, fleet_settle_s=0.05) as service:
        async with GatewayFleet(settings, SITE, fleet, slow):
            await eventually(lambda: len(service.registry) == 4, timeout_s=5.0)
            await asyncio.wait_for(service.heap_frozen.wait(), 5.0)
            async with aiomqtt.Client(HOST, own_broker.port, timeout=3.0) as operator:
                crash = discharge("sig-crash", 20.0, timedelta(minutes=1))
                await operator.publish(topics.signals(SITE), crash.model_dump_json(), qos=1)
            await eventually(lambda: service.in_flight == ("sig-crash",), timeout_s=3.0)
            own_broker.stop()
            own_broker.start()
        await eventually(lambda: service.transport.connected, timeout_s=5.0)
        async with GatewayFleet(settings, SITE, fleet, PROMPT):
            await eventually(lambda: service.manager.result("sig-crash") is not None, 5.0)
            reported = await send_signal(settings, SITE, crash, timeout_s=5.0)
            after = await send_signal(
                settings, SITE, discharge("sig-after", 20.0, timedelta(hours=1)), timeout_s=5.0
            )
    assert reported is not None  # published, retained, on the restarted broker
    assert reported.status in {DispatchStatus.FAILED, DispatchStatus.PARTIAL}
    assert reported.acknowledged_kw < 20.0
    assert after is not None
    assert after.status is DispatchStatus.FULFILLED
