"""PUBACKs held until what a message brought is durable: the transport's side of the journal.

With a persistent session the broker keeps a QoS 1 message until the service acknowledges it
(PUBACK), and sends it again after a reconnect if it never was. paho acknowledges as soon as
a message is read, before the service has done anything with it; a crash then loses what was
read but not yet journaled. :class:`PubackGate` switches paho to manual acknowledgement and
sends the PUBACKs of the messages routed so far only once ``barrier()`` (the journal's flush)
has returned, in the order the messages came, in batches.

A barrier that fails or takes longer than ``timeout_s`` is logged and the PUBACKs go anyway:
holding them would stop the broker from sending anything more (signals, telemetry) while the
database is away; the journal keeps the acks in memory and retries them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiomqtt
import structlog

log = structlog.get_logger(__name__)

Barrier = Callable[[], Awaitable[object]]


class PubackGate:
    """Acknowledges a connection's received messages after ``barrier()``; one per client."""

    def __init__(self, client: aiomqtt.Client, barrier: Barrier, timeout_s: float) -> None:
        # aiomqtt 2 has no manual-ack API: its paho client does (set before connecting)
        self._paho = client._client
        self._paho.manual_ack_set(True)
        self._barrier = barrier
        self._timeout_s = timeout_s
        self._pending: list[tuple[int, int]] = []
        self._wake = asyncio.Event()
        self.released = 0

    def routed(self, mid: int, qos: int) -> None:
        """The message ``mid`` has been handled; acknowledge it after the next barrier."""
        if qos > 0:
            self._pending.append((mid, qos))
            self._wake.set()

    async def run(self) -> None:
        """Release PUBACKs batch by batch until cancelled (with the connection)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            try:
                async with asyncio.timeout(self._timeout_s):
                    await self._barrier()
            except Exception as exc:
                log.warning("mqtt_puback_barrier_failed", messages=len(batch), error=str(exc))
            for mid, qos in batch:
                self._paho.ack(mid, qos)
            self.released += len(batch)
