"""Matching acknowledgements to orders, one round of a dispatch at a time.

Every order is registered in the :class:`OrderBook` before it is published, inside a
:class:`Round`. An ack is then exactly one of:

- ``matched``: first answer to an open order, from the vehicle it was sent to;
- ``duplicate``: a second answer to an order that was already answered;
- ``late``: an answer to an order whose round closed (timed out) before it came;
- ``wrong_vehicle``: names a vehicle other than the order's (dropped: a gateway may only
  answer for itself);
- ``unknown``: names no order the book knows (never sent, or forgotten long ago).

Only ``matched`` acks count towards the dispatch; the others are counted and logged, never
double-counted. Closed rounds stay in a bounded memory (``remember``) so late and duplicate
acks are recognised after the dispatch ended.
"""

from __future__ import annotations

import asyncio
import enum
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dispatch.models import Ack, AckStatus, Order


class AckVerdict(enum.StrEnum):
    """How an incoming ack was classified."""

    MATCHED = "matched"
    DUPLICATE = "duplicate"
    LATE = "late"
    WRONG_VEHICLE = "wrong_vehicle"
    UNKNOWN = "unknown"


class Answer(enum.IntEnum):
    """State of one order."""

    PENDING = 0
    ACCEPTED = 1  # accepted everything ordered
    PARTIAL = 2  # accepted less than ordered
    REJECTED = 3
    TIMEOUT = 4
    UNSENT = 5


@dataclass(slots=True)
class Ticket:
    """One order in the book."""

    order: Order
    index: int  # the vehicle's index among the dispatch's candidates
    round: Round
    answer: Answer = Answer.PENDING
    accepted_kw: float = 0.0
    latency_s: float = 0.0
    late: bool = False


class Round:
    """The orders of one round; :meth:`wait` returns when all are answered or at the deadline."""

    def __init__(self, signal_id: str, number: int, sent_at: float) -> None:
        self.signal_id = signal_id
        self.number = number
        self.sent_at = sent_at
        self.tickets: list[Ticket] = []
        self.outstanding = 0
        self.closed = False
        self.duplicates = 0
        self.late = 0
        self._done = asyncio.Event()

    def answered(self) -> None:
        """One more order has its final answer."""
        self.outstanding -= 1
        if self.outstanding <= 0:
            self._done.set()

    async def wait(self, deadline: float) -> None:
        """Wait until every order is answered or the loop time reaches ``deadline``."""
        if self.outstanding <= 0:
            return
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(deadline):
                await self._done.wait()
        except TimeoutError:
            pass
        assert loop.time() >= deadline or self.outstanding <= 0  # noqa: S101

    def results(self, n: int) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
        """Accepted kW and :class:`Answer` per candidate index (``n`` candidates)."""
        accepted = np.zeros(n)
        answers = np.zeros(n, dtype=np.int8)
        for t in self.tickets:
            accepted[t.index] = t.accepted_kw
            answers[t.index] = t.answer
        return accepted, answers


class OrderBook:
    """Open orders by id, plus a bounded memory of closed ones."""

    def __init__(self, remember: int = 200_000) -> None:
        self._open: dict[str, Ticket] = {}
        self._closed: OrderedDict[str, Ticket] = OrderedDict()
        self._remember = remember

    def __len__(self) -> int:
        return len(self._open)

    def open_round(
        self,
        signal_id: str,
        number: int,
        orders: Sequence[Order],
        indices: Sequence[int],
        now: float,
    ) -> Round:
        """Register the orders of a round (before they are published)."""
        rnd = Round(signal_id, number, now)
        for order, index in zip(orders, indices, strict=True):
            if order.order_id in self._open or order.order_id in self._closed:
                raise ValueError(f"order id {order.order_id} is already in use")
            ticket = Ticket(order, int(index), rnd)
            rnd.tickets.append(ticket)
            self._open[order.order_id] = ticket
        rnd.outstanding = len(rnd.tickets)
        return rnd

    def mark_unsent(self, rnd: Round, order_ids: Sequence[str]) -> None:
        """The transport could not publish these orders; nobody will answer them."""
        for oid in order_ids:
            ticket = self._open.get(oid)
            if ticket is not None and ticket.round is rnd and ticket.answer is Answer.PENDING:
                ticket.answer = Answer.UNSENT
                rnd.answered()

    def handle(self, ack: Ack, now: float) -> tuple[AckVerdict, Ticket | None]:
        """Classify ``ack`` and, when it matches an open order, record it."""
        ticket = self._open.get(ack.order_id)
        if ticket is None:
            return self._after_close(ack)
        if ticket.order.vehicle_id != ack.vehicle_id:
            return AckVerdict.WRONG_VEHICLE, ticket
        if ticket.answer is not Answer.PENDING:
            ticket.round.duplicates += 1
            return AckVerdict.DUPLICATE, ticket
        ordered = ticket.order.power_kw
        if ack.status is AckStatus.ACCEPTED and ack.accepted_kw > 0:
            ticket.accepted_kw = min(ack.accepted_kw, ordered)
            full = ticket.accepted_kw >= ordered * (1 - 1e-6) - 1e-9
            ticket.answer = Answer.ACCEPTED if full else Answer.PARTIAL
        else:
            ticket.answer = Answer.REJECTED
        ticket.latency_s = max(0.0, now - ticket.round.sent_at)
        ticket.round.answered()
        return AckVerdict.MATCHED, ticket

    def _after_close(self, ack: Ack) -> tuple[AckVerdict, Ticket | None]:
        closed = self._closed.get(ack.order_id)
        if closed is None:
            verdict = AckVerdict.UNKNOWN
        elif closed.order.vehicle_id != ack.vehicle_id:
            verdict = AckVerdict.WRONG_VEHICLE
        elif closed.answer is Answer.TIMEOUT and not closed.late:
            closed.late = True
            closed.round.late += 1
            verdict = AckVerdict.LATE
        else:
            closed.round.duplicates += 1
            verdict = AckVerdict.DUPLICATE
        return verdict, closed

    def close(self, rnd: Round) -> int:
        """Close a round: unanswered orders time out, later acks are late. Returns timeouts."""
        rnd.closed = True
        timeouts = 0
        for t in rnd.tickets:
            if t.answer is Answer.PENDING:
                t.answer = Answer.TIMEOUT
                timeouts += 1
            self._open.pop(t.order.order_id, None)
            self._closed[t.order.order_id] = t
        while len(self._closed) > self._remember:
            self._closed.popitem(last=False)
        return timeouts
