"""The dispatch journal on the database: :class:`SqlJournal` implements the domain's port.

What is written when (``t_signal``, ``t_order``, ``t_ack``, ``t_result``):

- the signal, ``in_flight``, when its dispatch starts (a known id returns its stored result);
- a round's orders in one ``COPY`` before they are published (the manager publishes nothing
  if this raises);
- every ack, buffered by the synchronous :meth:`SqlJournal.ack_received` and written by a
  background task at most ``flush_interval_s`` later (sooner when ``flush_rows`` pile up); a
  failed write is logged, counted and retried, never dropped silently
  (:mod:`v2g.storage.journal_acks`);
- the result, after the pending acks, with the signal's final state, in one transaction.

``async with SqlJournal(db) as journal:`` runs the flusher and flushes once more on exit.
The read side (what a restart needs) is in :mod:`v2g.storage.journal_reads`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

import structlog

from dispatch.acks import AckVerdict
from dispatch.models import Ack, DispatchResult, FlexibilitySignal, Order
from metrics import MetricsSink, NopSink
from v2g.storage import journal_reads as reads
from v2g.storage.database import Database
from v2g.storage.journal_acks import AckBuffer, timed
from v2g.storage.journal_records import (
    Commitment,
    InFlightDispatch,
    JournalConflictError,
    result_from,
    result_json,
    signal_json,
)
from v2g.storage.sqlite import to_text
from v2g.storage.url import Dialect

log = structlog.get_logger(__name__)

ORDER_COLUMNS = (
    "order_id",
    "signal_id",
    "site_id",
    "vehicle_id",
    "round",
    "direction",
    "power_kw",
    "start_at",
    "end_at",
    "expires_at",
    "sent_at",
)


class SqlJournal:
    """Implements :class:`dispatch.ports.DispatchJournal` on a :class:`Database`."""

    def __init__(
        self,
        db: Database,
        *,
        metrics: MetricsSink | None = None,
        flush_interval_s: float = 0.05,
        flush_rows: int = 2000,
        retry_s: float = 0.5,
    ) -> None:
        self.db = db
        self.metrics: MetricsSink = metrics if metrics is not None else NopSink()
        self._acks = AckBuffer(
            db,
            self.metrics,
            flush_interval_s=flush_interval_s,
            flush_rows=flush_rows,
            retry_s=retry_s,
        )
        self._stamps: dict[datetime, str] = {}
        self._ids = itertools.count()
        self._token = secrets.token_hex(4)  # ack ids: unique per process, in arrival order
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        """Start the ack flusher."""
        self._task = asyncio.create_task(self._acks.run(), name="journal-flusher")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the flusher, then write what is still pending (a failure is logged)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        with contextlib.suppress(Exception):  # logged and counted by flush()
            await self.flush()
        if self._acks:
            log.error("journal_acks_unwritten", acks=len(self._acks))

    @property
    def pending(self) -> int:
        """Acks noted but not written yet (including those being written)."""
        return len(self._acks)

    # -- the port ----------------------------------------------------------------------------

    async def dispatch_started(
        self,
        signal: FlexibilitySignal,
        *,
        dispatcher: str,
        fallback: str,
        ack_timeout_s: float,
        at: datetime,
    ) -> DispatchResult | None:
        """Write the signal ``in_flight``; a signal id journaled before gets its result back.

        :class:`JournalConflictError` when the id is journaled but has no result yet.
        """
        async with timed(self.metrics, "signal"):
            inserted = await self.db.fetchval(
                "INSERT INTO t_signal (signal_id, site_id, payload, state, dispatcher, "
                "fallback, ack_timeout_s, received_at) "
                "VALUES ($1, $2, $3, 'in_flight', $4, $5, $6, $7) "
                "ON CONFLICT (signal_id) DO NOTHING RETURNING signal_id",
                signal.signal_id,
                signal.site_id,
                signal_json(signal),
                dispatcher,
                fallback,
                ack_timeout_s,
                at,
            )
            if inserted is not None:
                return None
            raw = await self.db.fetchval(
                "SELECT payload FROM t_result WHERE signal_id = $1", signal.signal_id
            )
        if raw is None:
            raise JournalConflictError(signal.signal_id)
        return result_from(raw)

    async def orders_sent(self, orders: Sequence[Order], at: datetime) -> None:
        """Write a round's orders in one ``COPY`` (before they are published)."""
        stamp, sent_at = self._stamp, self._stamp(at)
        rows = [
            (
                *o[:4],  # order_id, signal_id, site_id, vehicle_id
                o.round,
                o.direction.value,
                o.power_kw,
                stamp(o.start),
                stamp(o.end),
                stamp(o.expires_at),
                sent_at,
            )
            for o in orders
        ]
        async with timed(self.metrics, "orders"):
            await self.db.copy("t_order", ORDER_COLUMNS, rows)

    def ack_received(
        self, ack: Ack, verdict: AckVerdict, order: Order | None, at: datetime
    ) -> None:
        """Buffer the ack for the flusher (an ack naming no known order cannot be stored)."""
        if order is None:
            return
        self._acks.add(
            (
                f"{self._token}-{next(self._ids):012d}",
                ack.order_id,
                ack.vehicle_id,
                ack.status.value,
                ack.accepted_kw,
                ack.reason,
                verdict.value,
                at,
            )
        )

    async def dispatch_finished(self, result: DispatchResult) -> None:
        """Write the pending acks, then the result; the signal becomes ``completed``."""
        await self._finish(result, state="completed", recovered=False)

    # -- recovery ----------------------------------------------------------------------------

    async def mark_completed(self, result: DispatchResult) -> None:
        """Write the result of a dispatch completed from the journal after a restart."""
        await self._finish(result, state="completed", recovered=True)

    async def mark_failed(self, result: DispatchResult) -> None:
        """Write the (failed) result of a dispatch a restart could not complete."""
        await self._finish(result, state="failed", recovered=True)

    async def in_flight(self, sites: Sequence[str] | None = None) -> list[InFlightDispatch]:
        """Dispatches started and not finished (of ``sites``), with their orders and acks."""
        return await reads.in_flight(self.db, sites)

    async def recent_results(
        self, limit: int, sites: Sequence[str] | None = None
    ) -> list[DispatchResult]:
        """The latest ``limit`` stored results (per site when ``sites``), oldest first."""
        return await reads.recent_results(self.db, limit, sites)

    async def commitments(
        self, now: datetime, sites: Sequence[str] | None = None
    ) -> list[Commitment]:
        """Vehicles that acknowledged power for a period not over at ``now``."""
        return await reads.commitments(self.db, now, sites)

    # -- writing -----------------------------------------------------------------------------

    async def flush(self) -> int:
        """Write every buffered ack now; how many. Raises (keeping them) on failure."""
        return await self._acks.flush()

    def _stamp(self, value: datetime) -> datetime | str:
        """On SQLite, a round's few distinct times as text once each (else 4 per order)."""
        if self.db.dialect is not Dialect.SQLITE:
            return value
        text = self._stamps.get(value)
        if text is None:
            if len(self._stamps) > 64:
                self._stamps.clear()
            text = self._stamps[value] = to_text(value)
        return text

    async def _finish(self, result: DispatchResult, *, state: str, recovered: bool) -> None:
        await self.flush()
        async with timed(self.metrics, "result"), self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO t_result (signal_id, status, acknowledged_kw, recovered, payload, "
                "finished_at) VALUES ($1, $2, $3, $4, $5, $6)",
                result.signal_id,
                result.status.value,
                result.acknowledged_kw,
                recovered,
                result_json(result),
                result.finished_at,
            )
            await tx.execute(
                "UPDATE t_signal SET state = $2, finished_at = $3 WHERE signal_id = $1",
                result.signal_id,
                state,
                result.finished_at,
            )
