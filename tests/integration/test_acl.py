"""The project's broker configuration (``mosquitto/``) enforces who may use which topic.

Each test module run starts its own mosquitto from ``mosquitto/mosquitto.conf`` and
``mosquitto/acl``, with the listener moved to a free local port and the password file, ACL and
persistence moved into a temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiomqtt
import pytest

from tests.integration.local_broker import HOST, free_port, require_binary, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "mosquitto"
WHY = "the ACL tests need a local mosquitto install"
USERS = {
    "v2g-service": "service-pw",
    "v2g-operator": "operator-pw",
    "evA": "evA-pw",
    "evB": "evB-pw",
}


def adapt_config(text: str, tmp: Path, port: int) -> str:
    """The project's broker config with its listener and file paths moved for a test."""
    replacements = {
        r"^listener .*$": f"listener {port} {HOST}",
        r"^password_file .*$": f"password_file {tmp / 'passwords'}",
        r"^acl_file .*$": f"acl_file {tmp / 'acl'}",
        r"^persistence_location .*$": f"persistence_location {tmp}/",
    }
    for pattern, line in replacements.items():
        text, count = re.subn(pattern, line, text, flags=re.MULTILINE)
        assert count == 1, f"mosquitto.conf should have exactly one {pattern!r} line"
    if os.geteuid() == 0:
        text += "\nuser root\n"  # mosquitto would otherwise drop to a user that cannot read tmp
    return text


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A mosquitto running the project's config and ACL on a free port; yields the port."""
    mosquitto = require_binary("mosquitto", WHY)
    passwd = require_binary("mosquitto_passwd", WHY)
    tmp = tmp_path_factory.mktemp("mosquitto")
    port = free_port()
    shutil.copy(CONFIG / "acl", tmp / "acl")
    conf = tmp / "mosquitto.conf"
    conf.write_text(adapt_config((CONFIG / "mosquitto.conf").read_text(), tmp, port))
    for i, (user, password) in enumerate(USERS.items()):
        flags = ["-b", "-c"] if i == 0 else ["-b"]
        subprocess.run([passwd, *flags, str(tmp / "passwords"), user, password], check=True)  # noqa: S603
    log = (tmp / "mosquitto.log").open("wb")
    process = subprocess.Popen([mosquitto, "-c", str(conf)], stdout=log, stderr=log)  # noqa: S603
    try:
        wait_for_port(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(autouse=True)
def _clear_retained() -> None:
    """This module runs its own broker: nothing to clean on the shared one."""


@asynccontextmanager
async def connect(port: int, user: str | None) -> AsyncIterator[aiomqtt.Client]:
    """An MQTT 5 client logged in as ``user`` (anonymous when None)."""
    password = USERS[user] if user is not None else None
    async with aiomqtt.Client(
        HOST,
        port,
        username=user,
        password=password,
        protocol=aiomqtt.ProtocolVersion.V5,
        timeout=3.0,
    ) as client:
        yield client


async def received(client: aiomqtt.Client, seconds: float = 0.4) -> list[tuple[str, bytes]]:
    """Every message ``client`` gets within ``seconds``."""
    out: list[tuple[str, bytes]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                out.append((message.topic.value, message.payload))
    return out


async def test_vehicle_cannot_ack_as_another_vehicle(acl_broker: int) -> None:
    """evA's ack on evB's topic never reaches the service; its own ack does."""
    async with connect(acl_broker, "v2g-service") as service, connect(acl_broker, "evA") as ev:
        await service.subscribe("v2g/+/vehicles/+/ack", qos=1)
        await ev.publish("v2g/10/vehicles/evB/ack", b'{"forged": true}', qos=1)
        await ev.publish("v2g/10/vehicles/evA/ack", b'{"own": true}', qos=1)
        got = await received(service)
    assert got == [("v2g/10/vehicles/evA/ack", b'{"own": true}')]


async def test_vehicle_reads_only_its_own_orders(acl_broker: int) -> None:
    """evA receives orders for evA and none for evB, even when subscribed to both."""
    async with connect(acl_broker, "evA") as ev, connect(acl_broker, "v2g-service") as service:
        await ev.subscribe("v2g/10/vehicles/evB/order", qos=1)
        await ev.subscribe("v2g/10/vehicles/evA/order", qos=1)
        await ev.subscribe("v2g/10/vehicles/+/order", qos=1)
        await service.publish("v2g/10/vehicles/evB/order", b"for-B", qos=1)
        await service.publish("v2g/10/vehicles/evA/order", b"for-A", qos=1)
        got = await received(ev)
    assert got
    assert {payload for _, payload in got} == {b"for-A"}


async def test_operator_sends_signals_and_reads_results(acl_broker: int) -> None:
    """The operator's signal reaches the service and the service's result reaches it."""
    async with (
        connect(acl_broker, "v2g-service") as service,
        connect(acl_broker, "v2g-operator") as operator,
    ):
        await service.subscribe("v2g/+/signals", qos=1)
        await operator.subscribe("v2g/10/signals/+/result", qos=1)
        await operator.publish("v2g/10/signals", b"signal", qos=1)
        assert await received(service) == [("v2g/10/signals", b"signal")]
        await service.publish("v2g/10/signals/s-1/result", b"result", qos=1)
        assert await received(operator) == [("v2g/10/signals/s-1/result", b"result")]


async def test_operator_cannot_impersonate_a_vehicle(acl_broker: int) -> None:
    """The operator account may not publish vehicle telemetry."""
    async with (
        connect(acl_broker, "v2g-service") as service,
        connect(acl_broker, "v2g-operator") as operator,
    ):
        await service.subscribe("v2g/+/vehicles/+/status", qos=1)
        await operator.publish("v2g/10/vehicles/evA/status", b"forged", qos=1)
        assert await received(service) == []


async def test_anonymous_and_wrong_password_are_refused(acl_broker: int) -> None:
    """Clients without valid credentials cannot connect."""
    with pytest.raises(aiomqtt.MqttError):
        async with connect(acl_broker, None):
            pass
    wrong = USERS["evB"]
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(HOST, acl_broker, username="evA", password=wrong, timeout=3.0):
            pass
