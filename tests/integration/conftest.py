"""Fixtures for tests against the real mosquitto broker on 127.0.0.1:1883."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from v2g.mqtt import MqttSettings

BROKER_HOST = "127.0.0.1"
BROKER_PORT = 1883


def _broker_reachable() -> bool:
    try:
        with socket.create_connection((BROKER_HOST, BROKER_PORT), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def broker() -> tuple[str, int]:
    """The broker's address; skips (fails on CI) when it is not reachable."""
    if not _broker_reachable():
        message = f"mosquitto not reachable at {BROKER_HOST}:{BROKER_PORT}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return BROKER_HOST, BROKER_PORT


@pytest.fixture
def prefix() -> str:
    """A topic prefix no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(broker: tuple[str, int], prefix: str) -> MqttSettings:
    """Transport settings for the test broker under the test's own prefix."""
    host, port = broker
    return MqttSettings(
        host=host,
        port=port,
        topic_prefix=prefix,
        connect_timeout_s=3.0,
        operation_timeout_s=3.0,
        reconnect_initial_s=0.05,
        reconnect_max_s=0.2,
    )


@pytest.fixture
async def client(broker: tuple[str, int]) -> AsyncIterator[aiomqtt.Client]:
    """A plain test-side MQTT 5 client (publishes as a gateway or an operator would)."""
    host, port = broker
    async with aiomqtt.Client(host, port, protocol=aiomqtt.ProtocolVersion.V5, timeout=3.0) as c:
        yield c


@pytest.fixture(autouse=True)
async def _clear_retained(broker: tuple[str, int], prefix: str) -> AsyncIterator[None]:
    """After the test, delete every retained message left under its prefix."""
    yield
    host, port = broker
    async with aiomqtt.Client(host, port, timeout=3.0) as c:
        await c.subscribe(f"{prefix}/#", qos=1)
        topics: set[str] = set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.15):
                async for message in c.messages:
                    if message.retain and message.payload:
                        topics.add(message.topic.value)
        for topic in topics:
            await c.publish(topic, b"", qos=1, retain=True)
