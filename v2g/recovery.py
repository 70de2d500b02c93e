"""Recovery at start-up: finish the dispatches a crash or restart left in flight.

The service calls, in this order:

1. :meth:`Recovery.load` before it connects to the broker: every dispatch of its sites
   journaled ``in_flight`` is read with its orders and acks (see
   :mod:`v2g.recovering` for the rules), and its vehicles are booked again;
2. :meth:`Recovery.handle_ack` for every ack once connected: an ack naming a recovered
   order is classified, journaled and (if it is the first answer) credited here; any other
   gets None and goes to the dispatch manager;
3. :meth:`Recovery.run`: each dispatch completes when all its open orders are answered or
   ``ack_timeout_s`` after the restart, whichever is first. No order is ever sent again.

Each result is journaled (``completed``; ``failed`` when no order was journaled), passed to
``on_result`` (the service remembers and publishes it), and counted in
``v2g_dispatches_recovered_total{site,status}``; vehicles that delivered nothing are released.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol

import structlog

from dispatch.acks import AckVerdict
from dispatch.commitments import CommitmentLedger
from dispatch.models import Ack, DispatchResult, Order
from dispatch.ports import Clock
from metrics import MetricsSink, NopSink
from metrics import catalog as m
from v2g.recovering import RecoveringDispatch
from v2g.storage.journal_records import InFlightDispatch

log = structlog.get_logger(__name__)

ResultHandler = Callable[[DispatchResult], Awaitable[object]]


class RecoveryJournal(Protocol):
    """What recovery needs of the journal (:class:`~v2g.storage.journal.SqlJournal`)."""

    async def in_flight(self, sites: Sequence[str] | None = None) -> list[InFlightDispatch]:
        """Dispatches started and not finished."""
        ...

    def ack_received(
        self, ack: Ack, verdict: AckVerdict, order: Order | None, at: datetime
    ) -> None:
        """Note an ack."""
        ...

    async def mark_completed(self, result: DispatchResult) -> None:
        """Write a recovered result."""
        ...

    async def mark_failed(self, result: DispatchResult) -> None:
        """Write the result of a dispatch that could not be recovered."""
        ...


class Recovery:
    """Completes the in-flight dispatches of a restarted service from its journal."""

    def __init__(
        self,
        journal: RecoveryJournal,
        *,
        clock: Clock,
        on_result: ResultHandler,
        ledger: CommitmentLedger | None = None,
        metrics: MetricsSink | None = None,
    ) -> None:
        self.journal = journal
        self.clock = clock
        self.on_result = on_result
        self.ledger = ledger if ledger is not None else CommitmentLedger()
        self.metrics: MetricsSink = metrics if metrics is not None else NopSink()
        self.dispatches: dict[str, RecoveringDispatch] = {}
        self._by_order: dict[str, RecoveringDispatch] = {}
        self._answered: dict[str, asyncio.Event] = {}
        self._results: dict[str, asyncio.Future[DispatchResult]] = {}

    async def load(self, sites: Sequence[str]) -> int:
        """Read the in-flight dispatches of ``sites``; book their vehicles. How many."""
        loop = asyncio.get_running_loop()
        for found in await self.journal.in_flight(sites):
            dispatch = RecoveringDispatch(found)
            sid, signal = found.signal.signal_id, found.signal
            self.dispatches[sid] = dispatch
            self._by_order.update(dict.fromkeys(dispatch.orders, dispatch))
            self._answered[sid] = asyncio.Event()
            self._results[sid] = loop.create_future()
            vehicles = {o.vehicle_id for o in found.orders}
            self.ledger.reserve(signal.site_id, vehicles, sid, signal.start, signal.end)
            log.info(
                "dispatch_recovering",
                signal_id=sid,
                site_id=signal.site_id,
                orders=len(found.orders),
                open_orders=dispatch.outstanding,
                acks_journaled=len(found.acks),
            )
        return len(self.dispatches)

    def expects(self, order_id: str) -> bool:
        """True when ``order_id`` is an order of a recovered dispatch."""
        return order_id in self._by_order

    def recovering(self, signal_id: str) -> bool:
        """True when ``signal_id`` is one of the dispatches being recovered."""
        return signal_id in self.dispatches

    async def result_of(self, signal_id: str) -> DispatchResult:
        """The recovered result of ``signal_id`` (waits until it is complete)."""
        return await asyncio.shield(self._results[signal_id])

    def handle_ack(self, ack: Ack) -> AckVerdict | None:
        """Take an ack for a recovered order (journaled, credited once); None if not ours."""
        dispatch = self._by_order.get(ack.order_id)
        if dispatch is None:
            return None
        verdict = dispatch.handle(ack)
        order = dispatch.orders[ack.order_id]
        self.journal.ack_received(ack, verdict, order, self.clock.now())
        site = dispatch.signal.site_id
        if verdict is AckVerdict.LATE:
            self.metrics.inc(m.ACKS_LATE, site=site)
        elif verdict is AckVerdict.DUPLICATE:
            self.metrics.inc(m.ACKS_DUPLICATE, site=site)
        elif verdict is AckVerdict.WRONG_VEHICLE:
            self.metrics.inc(m.ACKS_UNMATCHED, site=site, reason=verdict.value)
        if dispatch.outstanding == 0:
            self._answered[dispatch.signal.signal_id].set()
        return verdict

    async def run(self) -> list[DispatchResult]:
        """Complete every loaded dispatch (concurrently); their results."""
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(self._complete(d), name=f"recover:{sid}")
                for sid, d in self.dispatches.items()
            ]
        return [t.result() for t in tasks]

    async def _complete(self, dispatch: RecoveringDispatch) -> DispatchResult:
        signal = dispatch.signal
        with structlog.contextvars.bound_contextvars(
            signal_id=signal.signal_id, site_id=signal.site_id
        ):
            if dispatch.orders:
                if dispatch.outstanding:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(dispatch.found.ack_timeout_s):
                            await self._answered[signal.signal_id].wait()
                result = dispatch.result(self.clock.now())
                write = self.journal.mark_completed
            else:
                result = dispatch.unrecoverable(self.clock.now())
                write = self.journal.mark_failed
            idle = {o.vehicle_id for o in dispatch.orders.values()} - dispatch.delivered()
            self.ledger.release(signal.site_id, idle, signal.signal_id)
            try:
                await write(result)
            except Exception as exc:  # still in flight in the journal: the next start retries
                log.error("journal_recovered_result_failed", error=str(exc))
            self.metrics.inc(
                m.DISPATCHES_RECOVERED, site=signal.site_id, status=result.status.value
            )
            log.info(
                "dispatch_recovered",
                status=result.status.value,
                acknowledged_kw=round(result.acknowledged_kw, 3),
                late_acks=result.late_acks,
                duplicate_acks=result.duplicate_acks,
                reason=result.reason,
            )
            self._results[signal.signal_id].set_result(result)
            try:
                await self.on_result(result)
            except Exception:
                log.exception("recovered_result_not_delivered")
            return result
