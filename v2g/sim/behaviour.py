"""How a simulated telematics gateway answers an order: the same model in-process and over MQTT.

A :class:`Behaviour` draws one :class:`Reply` per order from its rates, then a latency:

- ``accept``: acknowledges the full power;
- ``partial``: acknowledges a fraction drawn from ``partial_fraction``;
- ``reject``: refuses;
- ``silent``: never answers;
- ``late``: answers (accepting) ``late_s`` seconds after the order expired.

With probability ``duplicate`` an answer is sent twice. Draws come from the ``random.Random``
passed in, so a seeded simulation is reproducible.
"""

from __future__ import annotations

import bisect
import enum
import itertools
import random
from dataclasses import dataclass, field

from dispatch.models import Ack, AckStatus, Order


class Reply(enum.StrEnum):
    """What a gateway does with an order."""

    ACCEPT = "accept"
    PARTIAL = "partial"
    REJECT = "reject"
    SILENT = "silent"
    LATE = "late"


_REPLIES = tuple(Reply)


Planned = tuple[tuple[float, Ack], ...]
"""The answers to send for one order, each after its delay in seconds."""


@dataclass(frozen=True)
class Behaviour:
    """Reply rates (relative weights), latency and duplication of a gateway."""

    accept: float = 1.0
    partial: float = 0.0
    reject: float = 0.0
    silent: float = 0.0
    late: float = 0.0
    latency_s: tuple[float, float] = (0.0, 0.0)
    partial_fraction: tuple[float, float] = (0.3, 0.9)
    late_s: float = 0.05
    duplicate: float = 0.0
    _cumulative: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rates = (self.accept, self.partial, self.reject, self.silent, self.late)
        if min(rates) < 0 or sum(rates) <= 0:
            raise ValueError("reply rates must be >= 0 with a positive sum")
        lo, hi = self.latency_s
        if not 0 <= lo <= hi:
            raise ValueError("latency_s must be (min, max) with 0 <= min <= max")
        flo, fhi = self.partial_fraction
        if not 0 < flo <= fhi < 1:
            raise ValueError("partial_fraction must lie inside (0, 1)")
        if not 0 <= self.duplicate <= 1:
            raise ValueError("duplicate must be a probability")
        object.__setattr__(self, "_cumulative", tuple(itertools.accumulate(rates)))

    @classmethod
    def always(cls, reply: Reply, **kwargs: float | tuple[float, float]) -> Behaviour:
        """A gateway that always gives ``reply``."""
        rates = {r.value: 0.0 for r in Reply}
        rates[reply.value] = 1.0
        return cls(**rates, **kwargs)  # type: ignore[arg-type]

    def draw(self, rng: random.Random) -> Reply:
        """One reply according to the rates."""
        cumulative = self._cumulative
        index = bisect.bisect_right(cumulative, rng.random() * cumulative[-1])
        return _REPLIES[min(index, len(_REPLIES) - 1)]

    def plan(self, order: Order, rng: random.Random, ack_timeout_s: float) -> Planned:
        """The answers (with delays) a gateway following this behaviour sends for ``order``."""
        reply = self.draw(rng)
        lo, hi = self.latency_s
        delay = lo if lo == hi else rng.uniform(lo, hi)
        if reply is Reply.SILENT:
            return ()
        if reply is Reply.REJECT:
            ack = Ack(
                order.order_id, order.vehicle_id, AckStatus.REJECTED, 0.0, "simulated refusal"
            )
        elif reply is Reply.PARTIAL:
            kw = order.power_kw * rng.uniform(*self.partial_fraction)
            ack = Ack(
                order.order_id, order.vehicle_id, AckStatus.ACCEPTED, kw, "limited by battery"
            )
        else:
            ack = Ack(order.order_id, order.vehicle_id, AckStatus.ACCEPTED, order.power_kw)
        if reply is Reply.LATE:
            delay = ack_timeout_s + self.late_s
        if self.duplicate and rng.random() < self.duplicate:
            return ((delay, ack), (delay, ack))
        return ((delay, ack),)
