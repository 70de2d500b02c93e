"""The MQTT transport against the real broker: fleet discovery, dispatch, bad input, reconnects."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode
from structlog.testing import capture_logs

from dispatch import DispatchManager, DispatchResult, FlexibilitySignal, Order, PublishError
from fleet import Direction, FleetRegistry
from metrics import RecordingSink
from metrics import catalog as m
from tests.integration.gateway import eventually, gateway
from tests.support import T0
from v2g.clock import SystemClock
from v2g.mqtt import (
    MqttPublisher,
    MqttSettings,
    MqttTransport,
    NotConnectedError,
    Protocol,
    Topics,
)
from v2g.mqtt import metrics as mm

ACK_TIMEOUT_S = 0.4
SITE = "10"


def status(soc_pct: float = 80.0, **kw: Any) -> bytes:
    """A valid status payload, overridable."""
    body: dict[str, Any] = {
        "ts": datetime.now(UTC).isoformat(),
        "soc_pct": soc_pct,
        "battery_kwh": 75.0,
        "plugged_in": True,
        "max_charge_kw": 11.0,
        "max_discharge_kw": 10.0,
        "availability": 1.0,
        "degradation": 0.0,
    }
    body.update(kw)
    return json.dumps(body).encode()


def signal_body(signal_id: str, power_kw: float = 25.0) -> bytes:
    """A discharge signal starting in a minute."""
    start = datetime.now(UTC) + timedelta(minutes=1)
    return json.dumps(
        {
            "signal_id": signal_id,
            "type": "peak_shaving",
            "direction": "discharge",
            "power_kw": power_kw,
            "start": start.isoformat(),
            "duration_s": 1800,
        }
    ).encode()


async def announce(client: aiomqtt.Client, topics: Topics, *vids: str) -> None:
    """Publish retained status and presence for ``vids`` at the test site."""
    for vid in vids:
        await client.publish(topics.status(SITE, vid), status(), qos=1, retain=True)
        await client.publish(topics.online(SITE, vid), b'{"online": true}', qos=1, retain=True)


@asynccontextmanager
async def service(
    settings: MqttSettings, sink: RecordingSink, **transport_kw: Any
) -> AsyncIterator[tuple[MqttTransport, MqttPublisher, DispatchManager]]:
    """A transport, its publisher and a real manager wired as the service will wire them."""
    registry = FleetRegistry()
    holder: dict[str, Callable[[FlexibilitySignal], Awaitable[DispatchResult]]] = {}

    async def on_signal(sig: FlexibilitySignal) -> None:
        result = await holder["dispatch"](sig)
        await publisher.publish_result(result)

    transport = MqttTransport(
        settings, registry=registry, on_signal=on_signal, metrics=sink, **transport_kw
    )
    publisher = MqttPublisher(transport, max_in_flight=8)
    manager = DispatchManager(
        fleet=registry,
        publisher=publisher,
        clock=SystemClock(),
        ack_timeout_s=ACK_TIMEOUT_S,
        metrics=sink,
    )
    transport.on_ack = manager.handle_ack
    holder["dispatch"] = manager.dispatch
    async with transport:
        yield transport, publisher, manager


async def test_fleet_is_built_from_retained_status_and_presence(
    settings: MqttSettings, client: aiomqtt.Client
) -> None:
    """Retained status and online messages published before start build the registry;
    a retained ``{"online": false}`` leaves its vehicle known but offline."""
    topics = Topics(settings.topic_prefix)
    await announce(client, topics, "ev1", "ev2")
    await client.publish(topics.online(SITE, "ev2"), b'{"online": false}', qos=1, retain=True)
    await client.publish(topics.online(SITE, "ev3"), b'{"online": false}', qos=1, retain=True)
    await client.publish(topics.status(SITE, "ev3"), status(55.0), qos=1, retain=True)
    registry = FleetRegistry()
    async with MqttTransport(settings, registry=registry):
        await eventually(lambda: len(registry) == 3)
        await eventually(lambda: registry.get(SITE, "ev2").online is False)  # type: ignore[union-attr]
        ev1, ev3 = registry.get(SITE, "ev1"), registry.get(SITE, "ev3")
        assert ev1 is not None
        assert ev1.online
        assert ev1.max_charge_kw == 11.0
        assert ev3 is not None
        assert not ev3.online
        assert ev3.soc_pct == 55.0


async def test_last_will_and_explicit_offline_mark_vehicles_offline(
    settings: MqttSettings, broker: tuple[str, int], client: aiomqtt.Client
) -> None:
    """A gateway's Last Will and an explicit ``{"online": false}`` both mark the vehicle offline."""
    topics = Topics(settings.topic_prefix)
    registry = FleetRegistry()
    will = aiomqtt.Will(topics.online(SITE, "ev1"), b'{"online": false}', qos=1, retain=True)
    async with MqttTransport(settings, registry=registry):
        gw = aiomqtt.Client(*broker, protocol=aiomqtt.ProtocolVersion.V5, will=will, timeout=3.0)
        async with gw:
            await announce(gw, topics, "ev1")
            await announce(client, topics, "ev2")
            await eventually(lambda: len(registry) == 2)
            # reason code 4, "disconnect with Will message": the broker publishes the Will
            gw._client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, identifier=4))
            await eventually(lambda: not registry.get(SITE, "ev1").online)  # type: ignore[union-attr]
        await client.publish(topics.online(SITE, "ev2"), b'{"online": false}', qos=1)
        await eventually(lambda: not registry.get(SITE, "ev2").online)  # type: ignore[union-attr]


async def test_signal_is_dispatched_end_to_end_and_result_is_retained(
    settings: MqttSettings, broker: tuple[str, int], client: aiomqtt.Client
) -> None:
    """A signal over MQTT is dispatched to gateways that ack over MQTT; the result is published
    retained on ``signals/{id}/result``; orders carry expiry, response topic and correlation."""
    topics = Topics(settings.topic_prefix)
    sink = RecordingSink()
    await announce(client, topics, "ev1", "ev2", "ev3")
    async with gateway(broker, settings.topic_prefix) as gw, service(settings, sink) as svc:
        transport, _, _ = svc
        await eventually(lambda: len(transport.registry) == 3)
        await client.publish(topics.signals(SITE), signal_body("sig-1"), qos=1)
        await eventually(lambda: sink.total(m.DISPATCHES) == 1)
    assert {o.order.vehicle_id for o in gw.received} == {"ev1", "ev2", "ev3"}
    for seen in gw.received:
        assert seen.correlation_data == seen.order.order_id.encode()
        assert seen.response_topic == topics.ack(SITE, seen.order.vehicle_id)
        assert seen.expiry_s is not None
        assert seen.expiry_s >= 1
    async with aiomqtt.Client(*broker, timeout=3.0) as reader:
        await reader.subscribe(topics.result(SITE, "sig-1"), qos=1)
        async with asyncio.timeout(2.0):
            message = await anext(aiter(reader.messages))
    assert message.retain
    result = json.loads(message.payload)
    assert result["status"] == "fulfilled"
    assert result["acknowledged_kw"] == pytest.approx(25.0)
    assert result["rounds"] == 1
    assert result["fallback"] == "noop"
    assert {v["outcome"] for v in result["vehicles"]} == {"accepted"}


async def test_repeated_signal_id_sends_no_new_orders(
    settings: MqttSettings, broker: tuple[str, int], client: aiomqtt.Client
) -> None:
    """The same signal id received twice is dispatched once: no second round of orders."""
    topics = Topics(settings.topic_prefix)
    sink = RecordingSink()
    await announce(client, topics, "ev1", "ev2")
    async with gateway(broker, settings.topic_prefix) as gw, service(settings, sink) as svc:
        await eventually(lambda: len(svc[0].registry) == 2)
        await client.publish(topics.signals(SITE), signal_body("sig-dup", 10.0), qos=1)
        await eventually(lambda: sink.total(m.DISPATCHES) == 1)
        sent = len(gw.received)
        await client.publish(topics.signals(SITE), signal_body("sig-dup", 10.0), qos=1)
        await eventually(lambda: sink.total(m.SIGNALS_REPEATED) == 1)
    assert sent == 2
    assert len(gw.received) == sent
    assert sink.total(m.DISPATCHES) == 1


async def test_bad_payloads_and_unknown_acks_are_counted_and_the_loop_survives(
    settings: MqttSettings, broker: tuple[str, int], client: aiomqtt.Client
) -> None:
    """Malformed status and ack payloads, an ack from an unknown vehicle and one for an unknown
    order are logged with their topic, counted and dropped; later messages still get through."""
    topics = Topics(settings.topic_prefix)
    sink = RecordingSink()
    await announce(client, topics, "ev1")
    with capture_logs() as logs:
        async with service(settings, sink) as (transport, _, _):
            await eventually(lambda: len(transport.registry) == 1)
            await client.publish(topics.status(SITE, "ev1"), b"{not json", qos=1)
            await client.publish(topics.status(SITE, "ev1"), status(soc_pct=150.0), qos=1)
            await client.publish(topics.ack(SITE, "ev1"), b'{"status": "accepted"}', qos=1)
            await client.publish(
                topics.ack(SITE, "ev1"),
                b'{"order_id": "o1", "vehicle_id": "ev9", "status": "accepted"}',
                qos=1,
            )
            await client.publish(
                topics.ack(SITE, "ghost"), b'{"order_id": "o1", "status": "rejected"}', qos=1
            )
            await client.publish(
                topics.ack(SITE, "ev1"), b'{"order_id": "nope", "status": "accepted"}', qos=1
            )
            await client.publish(topics.status(SITE, "ev2"), status(), qos=1)
            await eventually(lambda: transport.registry.get(SITE, "ev2") is not None)
    assert sink.total(mm.PAYLOADS_REJECTED, kind="status") == 2
    assert sink.total(mm.PAYLOADS_REJECTED, kind="ack") == 2
    assert sink.total(mm.UNKNOWN_VEHICLES, kind="ack") == 1
    assert sink.total(m.ACKS_UNMATCHED, reason="unknown") == 1
    rejected = [e for e in logs if e["event"] == "mqtt_message_rejected"]
    assert {e["topic"] for e in rejected} == {topics.status(SITE, "ev1"), topics.ack(SITE, "ev1")}
    assert transport.registry.get(SITE, "ev1").soc_pct == 80.0  # type: ignore[union-attr]


async def test_reconnects_and_subscribes_again_after_losing_the_connection(
    settings: MqttSettings, client: aiomqtt.Client
) -> None:
    """After the connection drops the transport reconnects, re-subscribes and keeps routing."""
    topics = Topics(settings.topic_prefix)
    sink = RecordingSink()
    registry = FleetRegistry()
    async with MqttTransport(settings, registry=registry, metrics=sink) as transport:
        assert transport._client is not None
        transport._client._client.disconnect()  # drop the connection under the transport
        await eventually(lambda: sink.total(mm.RECONNECTS) == 1)
        await eventually(lambda: transport.connected)
        await client.publish(topics.status(SITE, "ev1"), status(), qos=1)
        await eventually(lambda: registry.get(SITE, "ev1") is not None)


async def test_mqtt_311_dispatch_works_without_properties(
    settings: MqttSettings, broker: tuple[str, int], client: aiomqtt.Client
) -> None:
    """Over MQTT 3.1.1 orders go out without properties and acks on the ack topic still count."""
    settings = settings.model_copy(update={"protocol": Protocol.V311})
    topics = Topics(settings.topic_prefix)
    sink = RecordingSink()
    await announce(client, topics, "ev1")
    async with gateway(broker, settings.topic_prefix) as gw, service(settings, sink):
        await eventually(lambda: sink.total(mm.MESSAGES_RECEIVED, kind="status") >= 1)
        await client.publish(topics.signals(SITE), signal_body("sig-311", 5.0), qos=1)
        await eventually(lambda: sink.total(m.DISPATCHES, status="fulfilled") == 1)
    assert gw.received[0].correlation_data is None


async def test_unreachable_broker_fails_start_after_the_connect_timeout(
    settings: MqttSettings,
) -> None:
    """With nothing listening, entering the transport raises NotConnectedError in time."""
    settings = settings.model_copy(update={"port": 1, "connect_timeout_s": 0.3})
    async with asyncio.timeout(2.0):
        with pytest.raises(NotConnectedError, match=r"127\.0\.0\.1:1 "):
            async with MqttTransport(settings, registry=FleetRegistry()):
                pass


async def test_publish_raises_publish_error_when_not_connected(settings: MqttSettings) -> None:
    """Publishing orders through a transport that is not connected raises PublishError."""

    transport = MqttTransport(settings, registry=FleetRegistry())
    order = Order(
        "o1", "s1", SITE, "ev1", Direction.DISCHARGE, 1.0, T0, T0 + timedelta(minutes=5), T0
    )
    with pytest.raises(PublishError):
        await MqttPublisher(transport).publish([order])


async def test_ten_thousand_orders_publish_with_bounded_in_flight_calls(
    settings: MqttSettings, caplog: pytest.LogCaptureFixture
) -> None:
    """10k orders of one round all reach the broker with the in-flight bound holding, so the
    client never warns about piling pending publish calls."""
    end = T0 + timedelta(hours=1)
    orders = [
        Order(f"o{i}", "s-big", SITE, f"ev{i}", Direction.DISCHARGE, 1.0, T0, end, T0)
        for i in range(10_000)
    ]
    sink = RecordingSink()
    async with MqttTransport(settings, registry=FleetRegistry(), metrics=sink) as transport:
        with caplog.at_level(logging.WARNING):
            unsent = await MqttPublisher(transport).publish(orders)
    assert list(unsent) == []
    assert not [r for r in caplog.records if "pending" in r.getMessage()]
    assert sink.total(mm.PUBLISH_FAILURES) == 0
