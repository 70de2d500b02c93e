"""The simulated gateway fleet against the real broker, under a unique topic prefix."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fleet.vehicle import Vehicle
from tests.integration.gateway import eventually
from v2g.mqtt import MqttSettings, Topics
from v2g.sim.behaviour import Behaviour, Reply
from v2g.sim.fleetgen import make_fleet
from v2g.simulator import GatewayFleet

SITE = "10"


def _vehicle(vid: str, soc: float = 60.0) -> Vehicle:
    return Vehicle(
        vehicle_id=vid,
        site_id=SITE,
        soc_pct=soc,
        battery_kwh=10.0,
        max_charge_kw=11.0,
        max_discharge_kw=10.0,
    )


def _order(order_id: str, power_kw: float, seconds: float = 60.0, start_in: float = 0.0) -> bytes:
    now = datetime.now(UTC) + timedelta(seconds=start_in)
    return json.dumps(
        {
            "order_id": order_id,
            "signal_id": "sig-1",
            "direction": "discharge",
            "power_kw": power_kw,
            "start": now.isoformat(),
            "end": (now + timedelta(seconds=seconds)).isoformat(),
            "expires_at": (now + timedelta(seconds=5)).isoformat(),
        }
    ).encode()


async def _next_message(client: aiomqtt.Client) -> tuple[aiomqtt.Message, dict[str, object]]:
    """The next message the client receives (within 2 s) and its JSON payload."""
    async with asyncio.timeout(2.0):
        message = await anext(aiter(client.messages))
    assert isinstance(message.payload, bytes)
    return message, json.loads(message.payload)


async def _collect(client: aiomqtt.Client, into: dict[str, bytes], seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                into[message.topic.value] = message.payload
    except TimeoutError:
        return


async def test_retained_status_and_presence_for_every_vehicle(
    settings: MqttSettings, client: aiomqtt.Client
) -> None:
    """Every vehicle's status and online are retained, with sessions shared by many vehicles."""
    fleet = make_fleet(25, SITE, seed=3, offline=0.0)
    topics = Topics(settings.topic_prefix)
    async with GatewayFleet(settings, SITE, fleet, Behaviour(), vehicles_per_session=10):
        seen: dict[str, bytes] = {}
        await client.subscribe(f"{settings.topic_prefix}/{SITE}/vehicles/+/+", qos=1)
        await _collect(client, seen, 0.5)
    for v in fleet:
        status = json.loads(seen[topics.status(SITE, v.vehicle_id)])
        assert status["soc_pct"] == v.soc_pct
        assert status["battery_kwh"] == v.battery_kwh
        assert json.loads(seen[topics.online(SITE, v.vehicle_id)]) == {"online": True}


async def test_clean_exit_marks_every_vehicle_offline(
    settings: MqttSettings, client: aiomqtt.Client
) -> None:
    """Leaving the fleet publishes a retained ``{"online": false}`` for each vehicle."""
    fleet = [_vehicle("evA"), _vehicle("evB")]
    async with GatewayFleet(settings, SITE, fleet, Behaviour()):
        pass
    seen: dict[str, bytes] = {}
    await client.subscribe(f"{settings.topic_prefix}/{SITE}/vehicles/+/online", qos=1)
    await _collect(client, seen, 0.3)
    assert len(seen) == 2
    assert all(json.loads(p) == {"online": False} for p in seen.values())


async def test_order_is_answered_on_response_topic_with_correlation(
    settings: MqttSettings, client: aiomqtt.Client
) -> None:
    """An accepted order is acked in full on its response topic, echoing correlation data."""
    topics = Topics(settings.topic_prefix)
    behaviour = Behaviour(latency_s=(0.01, 0.02))
    async with GatewayFleet(settings, SITE, [_vehicle("evA")], behaviour, tick_s=0.05) as fleet:
        reply_to = f"{settings.topic_prefix}/replies/evA"
        await client.subscribe(reply_to, qos=1)
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ResponseTopic = reply_to
        props.CorrelationData = b"o-1"
        await client.publish(topics.order(SITE, "evA"), _order("o-1", 5.0), qos=1, properties=props)
        message, ack = await _next_message(client)
        assert ack["order_id"] == "o-1"
        assert ack["status"] == "accepted"
        assert ack["accepted_kw"] == 5.0
        assert getattr(message.properties, "CorrelationData", None) == b"o-1"
        await eventually(lambda: fleet.vehicle("evA").soc_pct < 60.0)


async def test_rejecting_gateway_acks_on_ack_topic_and_keeps_soc(
    settings: MqttSettings, client: aiomqtt.Client
) -> None:
    """Without a response topic the refusal goes to the ack topic; the SoC does not move."""
    topics = Topics(settings.topic_prefix)
    behaviour = Behaviour.always(Reply.REJECT)
    async with GatewayFleet(settings, SITE, [_vehicle("evB")], behaviour, tick_s=0.05) as fleet:
        await client.subscribe(topics.ack(SITE, "evB"), qos=1)
        await client.publish(topics.order(SITE, "evB"), _order("o-2", 5.0), qos=1)
        _, ack = await _next_message(client)
        assert ack["status"] == "rejected"
        await asyncio.sleep(0.2)
        assert fleet.vehicle("evB").soc_pct == 60.0


async def test_accepted_order_moves_soc_and_republishes_status(
    settings: MqttSettings, client: aiomqtt.Client
) -> None:
    """From start to end a discharge lowers the SoC by power x time / battery; status follows."""
    topics = Topics(settings.topic_prefix)
    async with GatewayFleet(settings, SITE, [_vehicle("evA")], Behaviour(), tick_s=0.05) as fleet:
        await client.subscribe(topics.status(SITE, "evA"), qos=1)
        await client.publish(topics.order(SITE, "evA"), _order("o-3", 36.0, 0.5, 0.3), qos=1)
        await asyncio.sleep(0.15)
        assert fleet.vehicle("evA").soc_pct == 60.0  # not before the order's start
        await asyncio.sleep(0.85)
        # 36 kW for 0.5 s out of 10 kWh: 0.005 kWh, 0.05 SoC points
        assert abs(fleet.vehicle("evA").soc_pct - 59.95) < 0.005
        seen: dict[str, bytes] = {}
        await _collect(client, seen, 0.2)
    assert json.loads(seen[topics.status(SITE, "evA")])["soc_pct"] < 60.0


async def test_answers_are_reproducible_for_a_seed(settings: MqttSettings) -> None:
    """The same seed gives the same replies to the same orders."""
    topics = Topics(settings.topic_prefix)
    behaviour = Behaviour(accept=0.5, reject=0.3, partial=0.2)
    vehicles = [_vehicle(f"ev{i}") for i in range(5)]

    async def run() -> list[tuple[str, str, float]]:
        async with (
            GatewayFleet(settings, SITE, vehicles, behaviour, seed=11) as fleet,
            aiomqtt.Client(settings.host, settings.port) as c,
        ):
            for i, v in enumerate(vehicles):
                await c.publish(topics.order(SITE, v.vehicle_id), _order(f"o{i}", 4.0), qos=1)
            await eventually(lambda: len(fleet.acks_sent) == len(vehicles))
            return sorted((a.vehicle_id, a.status.value, a.accepted_kw) for a in fleet.acks_sent)

    assert await run() == await run()


async def test_bad_orders_are_dropped_and_the_session_keeps_answering(
    settings: MqttSettings, client: aiomqtt.Client
) -> None:
    """Malformed JSON, a wrong field and an unknown vehicle get no ack; a good order after them
    is still answered (orders are handled in paho's callback: nothing may escape it)."""
    topics = Topics(settings.topic_prefix)
    async with GatewayFleet(settings, SITE, [_vehicle("evA")], Behaviour()) as fleet:
        await client.subscribe(f"{settings.topic_prefix}/{SITE}/vehicles/+/ack", qos=1)
        await client.publish(topics.order(SITE, "evA"), b"{not json", qos=1)
        await client.publish(topics.order(SITE, "evA"), b'{"order_id": "o-x"}', qos=1)
        await client.publish(topics.order(SITE, "evZ"), _order("o-z", 4.0), qos=1)
        await client.publish(topics.order(SITE, "evA"), _order("o-ok", 4.0), qos=1)
        _, ack = await _next_message(client)
        assert ack["order_id"] == "o-ok"
        await asyncio.sleep(0.2)
        assert [a.order_id for a in fleet.acks_sent] == ["o-ok"]


async def test_a_newer_order_replaces_the_one_executing(
    settings: MqttSettings, client: aiomqtt.Client
) -> None:
    """Two accepted orders for one vehicle: only the newer moves the SoC from then on."""
    topics = Topics(settings.topic_prefix)
    async with GatewayFleet(settings, SITE, [_vehicle("evA")], Behaviour(), tick_s=0.05) as fleet:
        await client.publish(topics.order(SITE, "evA"), _order("o-1", 36.0, 60.0), qos=1)
        await eventually(lambda: fleet.vehicle("evA").soc_pct < 60.0)
        await client.publish(topics.order(SITE, "evA"), _order("o-2", 36.0, 0.1), qos=1)
        await eventually(lambda: len(fleet.acks_sent) == 2)
        await asyncio.sleep(0.3)  # o-2 lasts 0.1 s and o-1 is replaced: nothing executes now
        settled = fleet.vehicle("evA").soc_pct
        await asyncio.sleep(0.2)
        assert fleet.vehicle("evA").soc_pct == settled
