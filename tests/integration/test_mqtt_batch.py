"""Batched QoS 1 publication: every message confirmed, the window bound kept, a silent broker
reported as unconfirmed messages instead of a hang."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from tests.integration.local_broker import HOST, free_port, require_binary, wait_for_port
from v2g.mqtt.batch import publish_batch


async def test_every_message_is_confirmed_and_delivered(
    broker: tuple[str, int], prefix: str
) -> None:
    """200 messages through a window of 4: all confirmed, all delivered, the window returned."""
    host, port = broker
    window = asyncio.Semaphore(4)
    async with (
        aiomqtt.Client(host, port, protocol=aiomqtt.ProtocolVersion.V5, timeout=5) as sender,
        aiomqtt.Client(host, port, protocol=aiomqtt.ProtocolVersion.V5, timeout=5) as reader,
    ):
        await reader.subscribe(f"{prefix}/batch/#", qos=1)
        messages = [(f"{prefix}/batch/{i}", str(i).encode(), None) for i in range(200)]
        peak = 0

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, 4 - window._value)
                await asyncio.sleep(0)

        watcher = asyncio.create_task(watch())
        assert await publish_batch(sender, messages, window=window, timeout_s=5.0) == []
        watcher.cancel()
        received: set[bytes] = set()
        async with asyncio.timeout(5):
            async for message in reader.messages:
                assert isinstance(message.payload, bytes)
                received.add(message.payload)
                if len(received) == 200:
                    break
    assert 1 <= peak <= 4
    assert window._value == 4  # every place given back


@pytest.fixture
def frozen_broker(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A private mosquitto the test can freeze (SIGSTOP) after connecting to it."""
    binary = require_binary("mosquitto", "the test freezes a broker of its own")
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} {HOST}\nallow_anonymous true\npersistence false\n")
    process = subprocess.Popen(  # noqa: S603  (a fixed binary and our own config)
        [binary, "-c", str(config)], stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process)
        yield port, process
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        process.kill()


async def test_a_silent_broker_yields_unconfirmed_messages(
    frozen_broker: tuple[int, subprocess.Popen[bytes]],
) -> None:
    """With the broker frozen, no PUBACK comes: after the timeout every message is reported
    unconfirmed (the caller counts them as not sent) and the window is given back."""
    port, process = frozen_broker
    window = asyncio.Semaphore(8)
    async with aiomqtt.Client(HOST, port, protocol=aiomqtt.ProtocolVersion.V5, timeout=5) as c:
        process.send_signal(signal.SIGSTOP)
        messages = [(f"frozen/{i}", b"x", None) for i in range(20)]
        async with asyncio.timeout(5):
            failed = await publish_batch(c, messages, window=window, timeout_s=0.5)
        process.send_signal(signal.SIGCONT)
    assert failed == list(range(20))
    assert window._value == 8
