"""One round of a dispatch: orders out at once, acks gathered under one timeout."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import structlog
from numpy.typing import NDArray

from dispatch.acks import Answer, OrderBook, Round
from dispatch.events import OrdersSent
from dispatch.models import Order
from dispatch.ports import Clock, DispatchJournal, JournalError, NopJournal, Publisher
from dispatch.state import DispatchState
from eventbus import EventBus
from metrics import MetricsSink
from metrics import catalog as m

log = structlog.get_logger(__name__)

_ANSWERED = (Answer.ACCEPTED, Answer.PARTIAL, Answer.REJECTED)


class RoundSender:
    """Sends the rounds of every dispatch through one publisher and one order book."""

    def __init__(
        self,
        *,
        publisher: Publisher,
        book: OrderBook,
        clock: Clock,
        metrics: MetricsSink,
        events: EventBus,
        ack_timeout_s: float,
        journal: DispatchJournal | None = None,
    ) -> None:
        self.publisher = publisher
        self.journal: DispatchJournal = journal if journal is not None else NopJournal()
        self.book = book
        self.clock = clock
        self.metrics = metrics
        self.events = events
        self.ack_timeout_s = ack_timeout_s

    async def send(self, state: DispatchState, amounts: NDArray[np.float64], number: int) -> None:
        """Publish one order per non-zero amount, gather the acks, fold them into ``state``.

        Orders are journaled, then registered, then published: an ack faster than the publish
        call is still matched, and a restart finds every order that may have left. They expire
        ``ack_timeout_s`` after they leave. Raises :class:`~dispatch.ports.JournalError` (and
        publishes nothing) when the journal cannot write them.
        """
        signal, candidates = state.signal, state.candidates
        loop = asyncio.get_running_loop()
        index = np.flatnonzero(amounts)
        now = self.clock.now()
        expires = now + timedelta(seconds=self.ack_timeout_s)
        token = secrets.token_hex(6)  # order ids are unique per round without a registry
        vehicles = candidates.vehicles
        sid, site, direction = signal.signal_id, signal.site_id, signal.direction
        start, end = signal.start, signal.end
        orders = [
            Order(
                f"{token}.{number}.{i}",
                sid,
                site,
                vehicles[i].vehicle_id,
                direction,
                kw,
                start,
                end,
                expires,
                number,
            )
            for i, kw in zip(index.tolist(), amounts[index].tolist(), strict=True)
        ]
        sent_at = loop.time()
        try:
            await self.journal.orders_sent(orders, now)
        except Exception as exc:
            log.error("journal_orders_failed", round=number, orders=len(orders), error=str(exc))
            raise JournalError(
                f"journal unavailable, {len(orders)} orders of round {number} not sent: {exc}",
                signal_id=sid,
            ) from exc
        rnd = self.book.open_round(sid, number, orders, index.tolist(), sent_at)
        unsent = await self._publish(orders)
        self.book.mark_unsent(rnd, unsent)
        label = "initial" if number == 0 else "fallback"
        self.metrics.inc(m.ORDERS_SENT, len(orders) - len(unsent), site=site, round=label)
        self.events.publish(
            OrdersSent(sid, site, number, len(orders), float(amounts.sum()), len(unsent))
        )
        await rnd.wait(sent_at + self.ack_timeout_s)
        timeouts = self.book.close(rnd)
        self._record_acks(rnd, site, timeouts)
        accepted, answers = rnd.results(len(candidates))
        state.apply_round(number, amounts, accepted, answers)
        state.round_log.append(rnd)
        log.info(
            "dispatch_round",
            round=number,
            orders=len(orders),
            unsent=len(unsent),
            timeouts=timeouts,
            acknowledged_kw=round(state.acknowledged_total, 3),
        )

    async def _publish(self, orders: Sequence[Order]) -> Sequence[str]:
        """Ids of the orders that could not be sent (all of them if the transport fails)."""
        try:
            return await self.publisher.publish(orders)
        except Exception as exc:
            log.error("publish_failed", orders=len(orders), error=str(exc))
            return [o.order_id for o in orders]

    def _record_acks(self, rnd: Round, site: str, timeouts: int) -> None:
        answers = rnd.answers()
        counts = np.bincount(answers, minlength=len(Answer))
        for answer in _ANSWERED:
            if count := int(counts[answer]):
                self.metrics.inc(m.ACKS, count, site=site, outcome=answer.name.lower())
        answered = np.isin(answers, _ANSWERED)
        for latency in np.asarray(rnd.latency_s)[answered].tolist():
            self.metrics.observe(m.ACK_LATENCY, latency, site=site)
        if timeouts:
            self.metrics.inc(m.ACK_TIMEOUTS, timeouts, site=site)
