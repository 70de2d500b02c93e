"""Many QoS 1 publications at once: a shared window of PUBACKs, no task or timer per message.

aiomqtt's ``Client.publish`` costs, per message, an ``asyncio.Event``, an ``asyncio.wait_for``
(a task) and two scans of every pending call; for a round of 10k orders that is most of the
service's CPU. :func:`publish_batch` hands each message straight to the paho client that the
aiomqtt session holds and files a small receipt in aiomqtt's own table of pending
publications, which aiomqtt's ``on_publish`` callback settles when the PUBACK arrives (it
calls ``.set()`` on whatever is filed under the message id). The window (a semaphore shared
with every other publication of the publisher) bounds how many wait for their PUBACK.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.properties import Properties

QOS = 1

Message = tuple[str, bytes, Properties | None]


class _Batch:
    """The messages of one batch still waiting for their PUBACK."""

    def __init__(self, window: asyncio.Semaphore) -> None:
        self.window = window
        self.outstanding: dict[int, int] = {}  # message id -> index in the batch
        self.settled = asyncio.Event()
        self.settled.set()

    def add(self, mid: int, index: int) -> None:
        self.outstanding[mid] = index
        self.settled.clear()

    def done(self, mid: int) -> None:
        if self.outstanding.pop(mid, None) is not None:
            self.window.release()
            if not self.outstanding:
                self.settled.set()


class _Receipt:
    """Filed under a message id in aiomqtt's pending table; aiomqtt calls ``set`` on PUBACK."""

    __slots__ = ("batch", "mid")

    def __init__(self, batch: _Batch, mid: int) -> None:
        self.batch = batch
        self.mid = mid

    def set(self) -> None:
        self.batch.done(self.mid)


async def publish_batch(
    client: aiomqtt.Client,
    messages: Sequence[Message],
    *,
    window: asyncio.Semaphore,
    timeout_s: float,
) -> list[int]:
    """Publish every message at QoS 1; return the indices the broker did not confirm.

    At most the window's size wait for their PUBACK at once (across every batch sharing it).
    When no PUBACK frees a place for ``timeout_s``, or the last ones are not all confirmed
    ``timeout_s`` after the last was sent, the messages not confirmed are returned with those
    never sent.
    """
    sender: paho.Client = client._client  # the session's paho client (aiomqtt 2.x)
    pending = cast(dict[int, Any], client._pending_publishes)
    batch = _Batch(window)
    failed: list[int] = []
    for index, (topic, payload, properties) in enumerate(messages):
        if window.locked():
            try:
                await asyncio.wait_for(window.acquire(), timeout_s)
            except TimeoutError:
                failed.extend(range(index, len(messages)))
                break
        else:
            await window.acquire()  # free: returns at once
        info = sender.publish(topic, payload, qos=QOS, properties=properties)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            window.release()
            failed.append(index)
        elif info.is_published():
            window.release()
        else:
            batch.add(info.mid, index)
            pending[info.mid] = _Receipt(batch, info.mid)
    try:
        await asyncio.wait_for(batch.settled.wait(), timeout_s)
    except TimeoutError:
        for mid, index in list(batch.outstanding.items()):
            pending.pop(mid, None)
            batch.done(mid)
            failed.append(index)
    failed.sort()
    return failed
