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
import contextlib
import enum
from collections import OrderedDict
from collections.abc import Sequence

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


# plain ints for the hot path (IntEnum comparisons cost more)
PENDING, ACCEPTED, PARTIAL, REJECTED, TIMEOUT, UNSENT = (int(a) for a in Answer)


class Round:
    """The orders of one round, their answers in arrays (no object per order).

    :meth:`wait` returns when every order is answered or at the deadline.
    """

    def __init__(
        self,
        signal_id: str,
        number: int,
        orders: Sequence[Order],
        indices: Sequence[int],
        sent_at: float,
    ) -> None:
        n = len(orders)
        self.signal_id = signal_id
        self.number = number
        self.sent_at = sent_at
        self.orders = orders
        self.index = np.asarray(indices, dtype=np.intp)  # the vehicle's candidate index
        if self.index.shape != (n,):
            raise ValueError("one candidate index per order is needed")
        self.row = {o.order_id: i for i, o in enumerate(orders)}
        if len(self.row) != n:
            raise ValueError("order ids repeat within a round")
        # per order, in plain lists: cheap to index on the ack path
        self.answer: list[int] = [PENDING] * n  # Answer values
        self.accepted_kw: list[float] = [0.0] * n
        self.latency_s: list[float] = [0.0] * n
        self.late_seen: list[bool] = [False] * n
        self.outstanding = n
        self.closed = False
        self.duplicates = 0
        self.late = 0
        self._done = asyncio.Event()
        if n == 0:
            self._done.set()

    def answered(self) -> None:
        """One more order has its final answer."""
        self.outstanding -= 1
        if self.outstanding <= 0:
            self._done.set()

    async def wait(self, deadline: float) -> None:
        """Wait until every order is answered or the loop time reaches ``deadline``."""
        if self.outstanding <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(deadline):
                await self._done.wait()

    def results(self, n: int) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
        """Accepted kW and :class:`Answer` per candidate index (``n`` candidates)."""
        accepted = np.zeros(n)
        answers = np.zeros(n, dtype=np.int8)
        accepted[self.index] = self.accepted_kw
        answers[self.index] = self.answer
        return accepted, answers

    def answers(self) -> NDArray[np.int8]:
        """:class:`Answer` per order, as an array."""
        return np.asarray(self.answer, dtype=np.int8)


Match = tuple[AckVerdict, Round | None, int]
"""An ack's verdict, and the round and row of the order it names (None, -1 if unknown)."""


class OrderBook:
    """Open orders by id, plus a bounded memory of the ids of closed ones."""

    def __init__(self, remember: int = 200_000) -> None:
        self._open: dict[str, Round] = {}
        self._closed: OrderedDict[str, Round] = OrderedDict()
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
        rnd = Round(signal_id, number, orders, indices, now)
        if any(oid in self._open or oid in self._closed for oid in rnd.row):
            raise ValueError(f"an order id of round {number} of {signal_id} is already in use")
        self._open.update(dict.fromkeys(rnd.row, rnd))
        return rnd

    def mark_unsent(self, rnd: Round, order_ids: Sequence[str]) -> None:
        """The transport could not publish these orders; nobody will answer them."""
        for oid in order_ids:
            row = rnd.row.get(oid)
            if row is not None and rnd.answer[row] == PENDING:
                rnd.answer[row] = UNSENT
                rnd.answered()

    def handle(self, ack: Ack, now: float) -> Match:
        """Classify ``ack`` and, when it matches an open order, record it."""
        rnd = self._open.get(ack.order_id)
        if rnd is None:
            return self._after_close(ack)
        row = rnd.row[ack.order_id]
        order = rnd.orders[row]
        if order.vehicle_id != ack.vehicle_id:
            return AckVerdict.WRONG_VEHICLE, rnd, row
        if rnd.answer[row] != PENDING:
            rnd.duplicates += 1
            return AckVerdict.DUPLICATE, rnd, row
        ordered = order.power_kw
        if ack.status is AckStatus.ACCEPTED and ack.accepted_kw > 0:
            accepted = min(ack.accepted_kw, ordered)
            rnd.accepted_kw[row] = accepted
            full = accepted >= ordered * (1 - 1e-6) - 1e-9
            rnd.answer[row] = ACCEPTED if full else PARTIAL
        else:
            rnd.answer[row] = REJECTED
        rnd.latency_s[row] = max(0.0, now - rnd.sent_at)
        rnd.answered()
        return AckVerdict.MATCHED, rnd, row

    def _after_close(self, ack: Ack) -> Match:
        rnd = self._closed.get(ack.order_id)
        if rnd is None:
            return AckVerdict.UNKNOWN, None, -1
        row = rnd.row[ack.order_id]
        if rnd.orders[row].vehicle_id != ack.vehicle_id:
            verdict = AckVerdict.WRONG_VEHICLE
        elif rnd.answer[row] == TIMEOUT and not rnd.late_seen[row]:
            rnd.late_seen[row] = True
            rnd.late += 1
            verdict = AckVerdict.LATE
        else:
            rnd.duplicates += 1
            verdict = AckVerdict.DUPLICATE
        return verdict, rnd, row

    def close(self, rnd: Round) -> int:
        """Close a round: unanswered orders time out, later acks are late. Returns timeouts."""
        rnd.closed = True
        timeouts = 0
        answer = rnd.answer
        for row, value in enumerate(answer):
            if value == PENDING:
                answer[row] = TIMEOUT
                timeouts += 1
        for oid in rnd.row:
            self._open.pop(oid, None)
        self._closed.update(dict.fromkeys(rnd.row, rnd))
        while len(self._closed) > self._remember:
            self._closed.popitem(last=False)
        return timeouts
