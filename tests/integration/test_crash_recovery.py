"""The crash test: ``v2g serve`` killed between orders and acks completes after a restart.

Real processes: the service runs as ``python -m v2g.cli serve`` on a fresh PostgreSQL database
and the real mosquitto, with a persistent MQTT session; the test plays the operator and the
gateways of 20 vehicles, which receive the orders and hold their acks until the test says.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import asyncpg
import pytest

from dispatch.models import DispatchStatus
from tests.integration.gateway import eventually, forget_session
from tests.integration.serve_process import ServeProcess
from tests.pg import fresh_database
from v2g.mqtt import OrderPayload, ResultPayload, SignalPayload, Topics
from v2g.recovering import RECOVERED

SITE = "10"
VEHICLES = [f"ev{i:02d}" for i in range(20)]
ACK_TIMEOUT_S = 5.0


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database (skips without a server, fails on CI)."""
    with fresh_database() as url:
        yield url


class Gateways:
    """The vehicles' side: retained status and presence, orders received, acks on demand."""

    def __init__(self, client: aiomqtt.Client, topics: Topics) -> None:
        self.client = client
        self.topics = topics
        self.orders: dict[str, OrderPayload] = {}  # by order id
        self.vehicle: dict[str, str] = {}  # order id -> vehicle id (from the topic)
        self.acks_sent = 0

    async def announce(self) -> None:
        """Every vehicle plugged in, 80 % SoC, 10 kW both ways, online."""
        body = {
            "ts": datetime.now(UTC).isoformat(),
            "soc_pct": 80.0,
            "battery_kwh": 75.0,
            "plugged_in": True,
            "max_charge_kw": 10.0,
            "max_discharge_kw": 10.0,
        }
        for vid in VEHICLES:
            status = json.dumps(body)
            await self.client.publish(self.topics.status(SITE, vid), status, qos=1, retain=True)
            online = b'{"online": true}'
            await self.client.publish(self.topics.online(SITE, vid), online, qos=1, retain=True)

    async def receive(self) -> None:
        """Collect orders until cancelled."""
        async for message in self.client.messages:
            parsed = self.topics.parse(message.topic.value)
            assert isinstance(message.payload, bytes)
            order = OrderPayload.model_validate_json(message.payload)
            self.orders[order.order_id] = order
            self.vehicle[order.order_id] = str(parsed.vehicle_id)

    async def ack(
        self, order_id: str, status: str, kw: float, *, as_vehicle: str | None = None
    ) -> None:
        """Publish an ack (QoS 1) for ``order_id``, from its vehicle unless told otherwise."""
        vid = as_vehicle or self.vehicle[order_id]
        body = {"order_id": order_id, "vehicle_id": vid, "status": status, "accepted_kw": kw}
        await self.client.publish(self.topics.ack(SITE, vid), json.dumps(body), qos=1)
        self.acks_sent += 1


@contextlib.asynccontextmanager
async def gateways(broker: tuple[str, int], topics: Topics) -> AsyncIterator[Gateways]:
    """Connected gateways subscribed to their orders."""
    host, port = broker
    async with aiomqtt.Client(host, port, protocol=aiomqtt.ProtocolVersion.V5, timeout=3.0) as c:
        await c.subscribe(f"{topics.prefix}/{SITE}/vehicles/+/order", qos=1)
        gw = Gateways(c, topics)
        receiver = asyncio.create_task(gw.receive())
        try:
            yield gw
        finally:
            receiver.cancel()
            await asyncio.gather(receiver, return_exceptions=True)


async def results(broker: tuple[str, int], topic: str) -> AsyncIterator[ResultPayload]:
    """Every non-empty message on ``topic`` (retained or new), as results."""
    host, port = broker
    async with aiomqtt.Client(host, port, protocol=aiomqtt.ProtocolVersion.V5, timeout=3.0) as c:
        await c.subscribe(topic, qos=1)
        async for message in c.messages:
            if isinstance(message.payload, bytes) and message.payload:
                yield ResultPayload.model_validate_json(message.payload)


async def next_result(broker: tuple[str, int], topic: str, timeout_s: float) -> ResultPayload:
    """The first result on ``topic`` within ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        async for result in results(broker, topic):
            return result
    raise AssertionError("unreachable")


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> None:
    """Wait until the async ``check()`` holds; fail the test after ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110  (polls the database: it has no events)
            await asyncio.sleep(0.02)


async def run_v2g(env: dict[str, str], *args: str) -> str:
    """Run ``v2g *args`` to the end; its stdout (fails the test on a non-zero exit)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "v2g.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20.0)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_a_killed_service_completes_its_dispatch_from_the_journal_after_a_restart(
    broker: tuple[str, int], prefix: str, database: str, tmp_path: Path
) -> None:
    """SIGKILL between orders and acks; the gateways answer while the service is down (the
    broker keeps the acks for its persistent session); the restarted service completes the
    dispatch from its journal: every ack in t_ack, each order credited once, the retained
    result's acknowledged power the sum of the accepted acks. The same signal id sent again
    after another restart returns the stored result and sends no order."""
    client_id = f"v2g-crash-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "V2G_MQTT_URL": f"mqtt://{broker[0]}:{broker[1]}",
        "V2G_DATABASE_URL": database,
        "V2G_SITES": SITE,
        "V2G_TOPIC_PREFIX": prefix,
        "V2G_MQTT_CLIENT_ID": client_id,
        "V2G_MQTT_SESSION_EXPIRY_S": "60",
        "V2G_HTTP_PORT": "0",
        "V2G_ACK_TIMEOUT_S": str(ACK_TIMEOUT_S),
        "V2G_FALLBACK": "noop",
        "V2G_LOG_LEVEL": "INFO",
        "V2G_LOG_JSON": "true",
    }
    topics = Topics(prefix)
    signal = SignalPayload(
        signal_id=f"crash-{uuid.uuid4().hex[:8]}",
        type="peak_shaving",
        direction="discharge",
        power_kw=10.0 * len(VEHICLES),
        start=datetime.now(UTC) + timedelta(minutes=1),
        duration_s=1800,
    )
    result_topic = topics.result(SITE, signal.signal_id)
    assert "applied 0001 initial" in await run_v2g(env, "db", "upgrade")
    db = await asyncpg.connect(database)
    service = ServeProcess(env, tmp_path)
    try:
        async with gateways(broker, topics) as gw:
            await gw.announce()
            await service.start()

            # run 1: the orders leave and reach every gateway; four acks, then the kill
            await eventually(lambda: bool(service.logged("heap_frozen")), 10.0)
            await gw.client.publish(topics.signals(SITE), signal.model_dump_json(), qos=1)
            journaled = 0

            async def all_orders_arrived() -> bool:
                nonlocal journaled
                journaled = await db.fetchval("SELECT COUNT(*) FROM t_order")
                return journaled > 0 and len(gw.orders) == journaled

            await until(all_orders_arrived)
            order_ids = sorted(gw.orders)
            power = {oid: gw.orders[oid].power_kw for oid in order_ids}
            before, after = order_ids[:4], order_ids[4:]
            for oid in before:
                await gw.ack(oid, "accepted", power[oid])

            async def acks_journaled() -> bool:  # flushed within ~50 ms
                return bool(await db.fetchval("SELECT COUNT(*) FROM t_ack") == len(before))

            await until(acks_journaled)
            await service.kill()
            assert await db.fetchval("SELECT state FROM t_signal") == "in_flight"

            # while the service is down: the other answers, a repeat and a forged one
            expected_kw = sum(power[oid] for oid in before)
            for i, oid in enumerate(after):
                if i % 3 == 0:
                    await gw.ack(oid, "rejected", 0.0)
                elif i % 3 == 1:
                    await gw.ack(oid, "accepted", 0.4 * power[oid])
                    expected_kw += 0.4 * power[oid]
                else:
                    await gw.ack(oid, "accepted", power[oid])
                    expected_kw += power[oid]
            await gw.ack(before[0], "accepted", power[before[0]])  # duplicate of a journaled ack
            await gw.ack(after[2], "accepted", power[after[2]])  # duplicate of a queued ack
            await gw.ack(after[0], "accepted", 5.0, as_vehicle=gw.vehicle[after[1]])  # forged

            # run 2: recovery matches the queued acks and completes at once
            await service.start()
            result = await next_result(broker, result_topic, 5.0)
            assert [e["status"] for e in service.logged("dispatch_recovered")] == ["partial"]

            assert result.status is DispatchStatus.PARTIAL
            assert result.reason is not None
            assert result.reason.startswith(RECOVERED)
            assert result.acknowledged_kw == pytest.approx(expected_kw)
            assert sum(v.orders for v in result.vehicles) == journaled
            row = await db.fetchrow(
                "SELECT s.state, r.recovered, r.acknowledged_kw FROM t_signal s "
                "JOIN t_result r USING (signal_id)"
            )
            assert (row["state"], row["recovered"]) == ("completed", True)
            assert row["acknowledged_kw"] == pytest.approx(expected_kw)

            async def every_ack_journaled() -> bool:  # the repeats may come after the result
                return bool(await db.fetchval("SELECT COUNT(*) FROM t_ack") == gw.acks_sent)

            await until(every_ack_journaled, 2.0)
            verdicts = await db.fetch("SELECT verdict, COUNT(*) AS n FROM t_ack GROUP BY verdict")
            assert {r["verdict"]: r["n"] for r in verdicts} == {
                "matched": journaled,
                "duplicate": 2,
                "wrong_vehicle": 1,
            }
            credited = await db.fetch(
                "SELECT o.order_id, COUNT(a.ack_id) AS n, "
                "SUM(LEAST(a.accepted_kw, o.power_kw)) FILTER (WHERE a.status = 'accepted') AS kw "
                "FROM t_order o LEFT JOIN t_ack a ON a.order_id = o.order_id "
                "AND a.verdict = 'matched' GROUP BY o.order_id"
            )
            assert {r["n"] for r in credited} == {1}
            assert sum(r["kw"] or 0.0 for r in credited) == pytest.approx(expected_kw)
            assert await db.fetchval("SELECT COUNT(*) FROM t_order") == journaled
            assert len(gw.orders) == journaled

            # run 3: the same signal id again: the stored result, no order
            await service.stop()
            await service.start()
            await gw.client.publish(result_topic, b"", qos=1, retain=True)
            await gw.client.publish(topics.signals(SITE), signal.model_dump_json(), qos=1)
            again = await next_result(broker, result_topic, 5.0)
            assert again == result
            await asyncio.sleep(0.2)
            assert len(gw.orders) == journaled
            assert await db.fetchval("SELECT COUNT(*) FROM t_order") == journaled
            assert await db.fetchval("SELECT COUNT(*) FROM t_signal") == 1
    finally:
        await service.kill()
        await db.close()
        await forget_session(broker, client_id)


async def test_serve_refuses_an_out_of_date_postgresql_schema(
    database: str, tmp_path: Path
) -> None:
    """On PostgreSQL the service only checks the schema: an empty database stops it at start
    with exit code 2 and the command to run."""
    env = {**os.environ, "V2G_DATABASE_URL": database, "V2G_SITES": SITE, "V2G_HTTP_PORT": "0"}
    env.pop("V2G_DATABASE_MIGRATE", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "v2g.cli",
        "serve",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 20.0)
    assert proc.returncode == 2
    assert "schema is at version 0" in err.decode()
    assert "run `v2g db upgrade`" in err.decode()


async def test_serve_journals_in_the_embedded_database_by_default(
    broker: tuple[str, int], prefix: str, tmp_path: Path
) -> None:
    """Without V2G_DATABASE_URL, `v2g serve` creates and migrates ./v2g.db (SQLite)."""
    env = {
        **os.environ,
        "V2G_MQTT_URL": f"mqtt://{broker[0]}:{broker[1]}",
        "V2G_SITES": SITE,
        "V2G_TOPIC_PREFIX": prefix,
        "V2G_MQTT_CLIENT_ID": "",  # a clean session: nothing left on the broker
        "V2G_HTTP_PORT": "0",
        "V2G_LOG_LEVEL": "INFO",
        "V2G_LOG_JSON": "true",
    }
    env.pop("V2G_DATABASE_URL", None)
    service = ServeProcess(env, tmp_path)
    try:
        await service.start()
        [opened] = service.logged("journal_opened")
        assert opened["database"] == "sqlite:///v2g.db"
        assert [e["session"] for e in service.logged("mqtt_connected")] == ["clean"]
    finally:
        await service.stop()
    assert (tmp_path / "v2g.db").is_file()
