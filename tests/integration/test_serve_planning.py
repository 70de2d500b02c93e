"""`v2g serve` as a real process: planning jobs against PostgreSQL while dispatch goes on.

The site (150 routes, 60 vans, prices and a load forecast around now) is written to a fresh
PostgreSQL database; `v2g serve` starts with it. Its initial planning run solves in a worker
process for several seconds; meanwhile a signal is dispatched to test gateways over the real
broker and must complete within its ack timeout. Then the allocation and the schedule are in
the database, every scheduled vehicle has its plan retained on its schedule topic, and the
event loop's lag histogram says no probe was late by 50 ms or more.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from allocation import synthetic_day
from scheduling import LoadPoint, PricePoint
from tests.integration.gateway import gateway
from tests.integration.serve_process import ServeProcess
from tests.integration.test_service import announce, http_get, signal
from tests.pg import fresh_database
from v2g.mqtt import Topics
from v2g.storage import Database, open_database, upgrade
from v2g.storage.market import put_load_forecast, put_prices
from v2g.storage.routes import upsert_routes
from v2g.storage.sites import put_parameter_set, upsert_site
from v2g.storage.vehicles import VehicleRecord, upsert_vehicles

SITE = "10"
ACK_TIMEOUT_S = 1.0
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test."""
    with fresh_database() as url:
        yield url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def seed_site(db: Database, now: datetime) -> list[str]:
    """A 150-route depot day starting in an hour; return its vehicle ids."""
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    day = synthetic_day(150, start=start, n_vehicles=60, seed=11, site_id=SITE)
    await upsert_site(db, SITE, now=now, name="integration depot")
    await put_parameter_set(
        db,
        SITE,
        "default",
        {"site_capacity_kw": 400.0, "allocation_time_limit_s": 20.0, "schedule_window_h": 12.0},
        now=now,
    )
    await upsert_vehicles(
        db,
        [
            VehicleRecord(
                site_id=SITE,
                vehicle_id=v.vehicle_id,
                vehicle_type=v.vehicle_type,
                capabilities=v.capabilities,
                battery_kwh=v.battery_kwh,
                efficiency_kwh_per_km=v.efficiency_kwh_per_km,
                max_charge_kw=v.charge_rate_kw,
                soc_pct=v.soc_pct,
                plugged_in=True,
                state_at=now,
            )
            for v in day.vehicles
        ],
        now=now,
    )
    await upsert_routes(db, SITE, day.routes, now=now)
    hours = [start - timedelta(hours=3) + timedelta(hours=h) for h in range(40)]
    await put_prices(
        db,
        SITE,
        [
            PricePoint(start=t, price_eur_per_kwh=0.10 + 0.05 * (t.hour in range(16, 20)))
            for t in hours
        ],
    )
    await put_load_forecast(db, SITE, [LoadPoint(start=t, load_kw=50.0) for t in hours])
    return [v.vehicle_id for v in day.vehicles]


async def _metrics(port: int) -> str:
    status, body = await http_get(port, "/metrics")
    assert status == 200
    return body


def _sample(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match is not None, f"{series} not exported"
    return float(match[1])


async def test_serve_plans_stores_and_publishes_while_dispatching(
    broker: tuple[str, int], prefix: str, pg_url: str
) -> None:
    """Allocation and schedule are stored and published; a dispatch during the solve completes
    within its ack timeout; the event loop never lags 50 ms."""
    now = datetime.now(UTC)
    http_port = _free_port()
    env = {
        **os.environ,
        "V2G_MQTT_URL": f"mqtt://{broker[0]}:{broker[1]}",
        "V2G_TOPIC_PREFIX": prefix,
        "V2G_SITES": SITE,
        "V2G_DATABASE_URL": pg_url,
        "V2G_HTTP_PORT": str(http_port),
        "V2G_ACK_TIMEOUT_S": str(ACK_TIMEOUT_S),
        "V2G_FALLBACK": "noop",
        "V2G_LOG_JSON": "true",
    }
    topics = Topics(prefix)
    service = ServeProcess(env, ROOT)
    host, port = broker
    async with (
        open_database(pg_url) as db,
        aiomqtt.Client(host, port, protocol=aiomqtt.ProtocolVersion.V5, timeout=5) as client,
        gateway(broker, prefix),
    ):
        await upgrade(db)
        vehicle_ids = await seed_site(db, now)
        await client.subscribe(f"{prefix}/{SITE}/vehicles/+/schedule", qos=1)
        await client.subscribe(f"{prefix}/{SITE}/signals/+/result", qos=1)
        await announce(client, topics, *vehicle_ids[:20])
        await service.start(timeout_s=30)
        try:
            sent_at = asyncio.get_running_loop().time()
            payload = signal("during-solve", power_kw=100.0).model_dump_json()
            await client.publish(topics.signals(SITE), payload, qos=1)
            result, result_after_s, allocations_then = None, 0.0, -1
            schedules: dict[str, dict[str, Any]] = {}
            stored: dict[str, Any] | None = None
            async with asyncio.timeout(90):
                async for message in client.messages:
                    assert isinstance(message.payload, bytes)
                    body = json.loads(message.payload)
                    if "signal_id" in body:
                        result = body
                        result_after_s = asyncio.get_running_loop().time() - sent_at
                        allocations_then = await db.fetchval(
                            "SELECT COUNT(*) FROM t_allocation_run"
                        )
                    else:
                        schedules[body["vehicle_id"]] = body
                    stored = await db.fetchrow(
                        "SELECT run_id, n_slots FROM t_schedule_run ORDER BY created_at DESC"
                    )
                    if result is not None and stored is not None:
                        planned = await db.fetchval(
                            "SELECT COUNT(DISTINCT vehicle_id) FROM t_charge_schedule "
                            "WHERE run_id = $1",
                            stored["run_id"],
                        )
                        if len(schedules) >= planned:
                            break
            metrics = await _metrics(http_port)
        finally:
            await service.stop()

    assert result is not None
    assert result["status"] in {"fulfilled", "partial"}
    assert result["acknowledged_kw"] > 0
    assert result_after_s < ACK_TIMEOUT_S + 1.0, "the dispatch waited for the solve"
    assert allocations_then == 0, "the solve had already finished: no overlap was shown"
    assert stored is not None
    assert service.logged("planning_run_done")
    some = next(iter(schedules.values()))
    assert some["run_id"] == stored["run_id"]
    assert len(some["slots"]) == stored["n_slots"]
    probes = _sample(metrics, "v2g_event_loop_lag_seconds_count")
    under_50ms = _sample(metrics, 'v2g_event_loop_lag_seconds_bucket{le="0.05"}')
    assert probes > 50
    assert under_50ms == probes, f"{probes - under_50ms} probes lagged 50 ms or more"
    assert 'v2g_job_runs_total{job="allocation"' in metrics
