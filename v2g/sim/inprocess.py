"""An in-process fleet that answers orders: a real :class:`dispatch.ports.Publisher`.

Every published order is answered by its vehicle's :class:`~v2g.sim.behaviour.Behaviour`
through the event loop's timers (no task per order), calling ``ack_sink`` (normally
``DispatchManager.handle_ack``) after the drawn latency. Everything published is kept in
:attr:`orders` (and the planned answers in :attr:`planned`) so tests can check what each
vehicle was asked and said.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence

from dispatch.errors import PublishError
from dispatch.models import Ack, Order
from v2g.sim.behaviour import Behaviour, Planned


class SimulatedFleet:
    """Plays the gateways of a fleet against a dispatch manager, without a broker."""

    def __init__(
        self,
        behaviour: Behaviour | None = None,
        *,
        overrides: Mapping[str, Behaviour] | None = None,
        ack_timeout_s: float = 5.0,
        seed: int = 0,
        unreachable: Sequence[str] = (),
    ) -> None:
        self.behaviour = behaviour or Behaviour()
        self.overrides = dict(overrides or {})
        self.ack_timeout_s = ack_timeout_s
        self.unreachable = set(unreachable)
        self.down = False
        self.orders: list[Order] = []
        self.planned: dict[str, Planned] = {}
        self.acks_sent = 0
        self._rng = random.Random(seed)
        self._sink: Callable[[Ack], object] | None = None

    def connect(self, ack_sink: Callable[[Ack], object]) -> None:
        """Where the vehicles' acks go (``DispatchManager.handle_ack``)."""
        self._sink = ack_sink

    async def publish(self, orders: Sequence[Order]) -> Sequence[str]:
        """Deliver the orders; return the ids that could not reach their vehicle."""
        if self.down:
            raise PublishError("simulated transport is down")
        if self._sink is None:
            raise PublishError("no ack sink connected")
        loop = asyncio.get_running_loop()
        unsent: list[str] = []
        sink, rng, timeout = self._sink, self._rng, self.ack_timeout_s
        overrides, default, planned_by_id = self.overrides, self.behaviour, self.planned
        bursts: dict[float, list[Ack]] = {}  # answers due at the same delay go out together
        for order in orders:
            if order.vehicle_id in self.unreachable:
                unsent.append(order.order_id)
                continue
            planned = overrides.get(order.vehicle_id, default).plan(order, rng, timeout)
            planned_by_id[order.order_id] = planned
            self.orders.append(order)
            for delay, ack in planned:
                bursts.setdefault(delay, []).append(ack)
        for delay, acks in bursts.items():
            self.acks_sent += len(acks)
            loop.call_later(max(0.0, delay), self._deliver, sink, acks)
        return unsent

    @staticmethod
    def _deliver(sink: Callable[[Ack], object], acks: list[Ack]) -> None:
        for ack in acks:
            sink(ack)

    def ordered_kw(self) -> dict[str, float]:
        """Total kW ordered per vehicle so far."""
        out: dict[str, float] = {}
        for o in self.orders:
            out[o.vehicle_id] = out.get(o.vehicle_id, 0.0) + o.power_kw
        return out
