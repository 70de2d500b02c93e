"""The service against the real broker: signals in, results out, probes, idempotency, drain."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import aiomqtt
import pytest

from dispatch.models import DispatchStatus
from tests.integration.gateway import eventually, gateway
from v2g.cli_service import EXIT_OK, report, send_signal
from v2g.mqtt import MqttSettings, SignalPayload, Topics
from v2g.service import Service
from v2g.settings import ServiceSettings
from v2g.sim.behaviour import Behaviour

SITE = "10"


def service_settings(settings: MqttSettings, **kw: object) -> ServiceSettings:
    """Service settings for the test broker, the test's prefix, an ephemeral HTTP port."""
    values: dict[str, object] = {
        "mqtt_url": f"mqtt://{settings.host}:{settings.port}",
        "topic_prefix": settings.topic_prefix,
        "sites": (SITE,),
        "http_port": 0,
        "ack_timeout_s": 0.3,
        "fallback": "noop",
    }
    values.update(kw)
    return ServiceSettings.model_validate(values)


@asynccontextmanager
async def running(settings: MqttSettings, **kw: object) -> AsyncIterator[Service]:
    """A :class:`Service` in this process, with the fixture's short MQTT timeouts."""
    svc_settings = service_settings(settings, **kw)
    async with Service(svc_settings, mqtt=settings, fleet_settle_s=0.05) as service:
        yield service


async def announce(client: aiomqtt.Client, topics: Topics, *vids: str) -> None:
    """Retained status and presence for ``vids`` at the test site."""
    for vid in vids:
        body = {
            "ts": datetime.now(UTC).isoformat(),
            "soc_pct": 80.0,
            "battery_kwh": 75.0,
            "plugged_in": True,
            "max_charge_kw": 11.0,
            "max_discharge_kw": 10.0,
        }
        await client.publish(topics.status(SITE, vid), json.dumps(body), qos=1, retain=True)
        await client.publish(topics.online(SITE, vid), b'{"online": true}', qos=1, retain=True)


def signal(signal_id: str, power_kw: float = 20.0) -> SignalPayload:
    """A discharge signal starting in a minute, for half an hour."""
    return SignalPayload(
        signal_id=signal_id,
        type="peak_shaving",
        direction="discharge",
        power_kw=power_kw,
        start=datetime.now(UTC) + timedelta(minutes=1),
        duration_s=1800,
    )


async def http_get(port: int, path: str) -> tuple[int, str]:
    """Status code and body of ``GET path`` on 127.0.0.1:``port``."""
    async with asyncio.timeout(2.0):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        await writer.drain()
        raw = await reader.read()
        writer.close()
        await writer.wait_closed()
    head, _, body = raw.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


async def test_signal_send_prints_the_result_and_probes_answer(
    settings: MqttSettings,
    broker: tuple[str, int],
    client: aiomqtt.Client,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`signal send` gets the dispatched result back; /healthz, /readyz, /metrics answer."""
    await announce(client, Topics(settings.topic_prefix), "ev1", "ev2", "ev3")
    async with gateway(broker, settings.topic_prefix) as gw, running(settings) as service:
        await eventually(lambda: len(service.registry) == 3)
        result = await send_signal(settings, SITE, signal("sig-send"), timeout_s=3.0)
        assert result is not None
        assert report(result, "sig-send", 3.0) == EXIT_OK
        assert result.status is DispatchStatus.FULFILLED
        assert result.acknowledged_kw == pytest.approx(20.0)
        assert {v.vehicle_id for v in result.vehicles} == {o.order.vehicle_id for o in gw.received}
        out = capsys.readouterr().out
        assert "sig-send" in out
        assert "fulfilled" in out
        port = service.http.port
        assert await http_get(port, "/healthz") == (200, "ok\n")
        assert await http_get(port, "/readyz") == (200, "ready\n")
        status, metrics = await http_get(port, "/metrics")
        assert status == 200
        assert 'v2g_dispatches_total{dispatcher="smart",fallback="noop"' in metrics
        assert (await http_get(port, "/nope"))[0] == 404
        await asyncio.wait_for(service.heap_frozen.wait(), 2.0)


async def test_repeated_signal_id_republishes_the_result_without_orders(
    settings: MqttSettings, broker: tuple[str, int], client: aiomqtt.Client
) -> None:
    """The same signal id sent twice gets the same result and no second round of orders."""
    await announce(client, Topics(settings.topic_prefix), "ev1", "ev2")
    async with gateway(broker, settings.topic_prefix) as gw, running(settings) as service:
        await eventually(lambda: len(service.registry) == 2)
        first = await send_signal(settings, SITE, signal("sig-dup", 10.0), timeout_s=3.0)
        sent = len(gw.received)
        await client.publish(
            Topics(settings.topic_prefix).signals(SITE), signal("sig-dup", 10.0).model_dump_json()
        )
        await eventually(
            lambda: 'v2g_signals_repeated_total{site="10"} 1.0' in service.sink.render().decode()
        )
        again = await send_signal(settings, SITE, signal("sig-dup", 10.0), timeout_s=3.0)
    assert first is not None
    assert again == first
    assert sent == 2
    assert len(gw.received) == sent


async def test_drain_lets_the_dispatch_in_flight_finish_and_refuses_new_signals(
    settings: MqttSettings, broker: tuple[str, int], client: aiomqtt.Client
) -> None:
    """Stopping while a dispatch waits for acks: it finishes and publishes its result;
    a signal arriving during the drain is not dispatched."""
    topics = Topics(settings.topic_prefix)
    await announce(client, topics, "ev1", "ev2")
    slow = Behaviour(latency_s=(0.3, 0.3))
    async with (
        gateway(broker, settings.topic_prefix, slow),
        running(settings, ack_timeout_s=1.0) as service,
    ):
        await eventually(lambda: len(service.registry) == 2)
        await client.publish(topics.signals(SITE), signal("sig-drain").model_dump_json(), qos=1)
        await eventually(lambda: service.in_flight == ("sig-drain",))
        service.stop()
        drained = asyncio.create_task(service.drain())
        await client.publish(topics.signals(SITE), signal("sig-late").model_dump_json(), qos=1)
        report_ = await asyncio.wait_for(drained, 3.0)
        assert service.manager.result("sig-late") is None
    assert report_.finished == ("sig-drain",)
    assert report_.abandoned == ()
    result = await send_signal(settings, SITE, signal("sig-drain"), timeout_s=2.0)
    assert result is not None
    assert result.status is DispatchStatus.FULFILLED


async def test_fleet_gauge_counts_online_and_offline_vehicles(
    settings: MqttSettings, client: aiomqtt.Client
) -> None:
    """/metrics reports the site's vehicles online and offline, from the fleet registry."""
    topics = Topics(settings.topic_prefix)
    await announce(client, topics, "ev1", "ev2", "ev3")
    await client.publish(topics.online(SITE, "ev3"), b'{"online": false}', qos=1, retain=True)
    async with running(settings) as service:
        await eventually(
            lambda: len(service.registry) == 3 and not service.registry.get(SITE, "ev3").online
        )
        service.report_fleet()
        _, metrics = await http_get(service.http.port, "/metrics")
        assert f'v2g_fleet_vehicles{{site="{SITE}",state="online"}} 2.0' in metrics
        assert f'v2g_fleet_vehicles{{site="{SITE}",state="offline"}} 1.0' in metrics
