"""The journal's ack buffer: acks noted synchronously, written in batches by a background task.

:meth:`AckBuffer.add` only appends a row (the ack path of the dispatch manager is synchronous
and hot). :meth:`AckBuffer.run` writes the buffer at most ``flush_interval_s`` after the
first row came, at once when ``flush_rows`` pile up. :meth:`AckBuffer.flush` writes now (the
journal before a result, the transport before it acknowledges messages to the broker).

A write that fails keeps its rows, in order, for the next attempt (logged and counted in
``v2g_journal_errors_total{op="acks"}``); a batch the database refuses (a constraint) is
written row by row and only a row refused alone is dropped (``op="ack_refused"``, logged with
its ids). Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import datetime

import structlog

from metrics import MetricsSink
from metrics import catalog as m
from v2g.storage.database import Executor
from v2g.storage.errors import QueryError

log = structlog.get_logger(__name__)

ACK_COLUMNS = (
    "ack_id",
    "order_id",
    "vehicle_id",
    "status",
    "accepted_kw",
    "reason",
    "verdict",
    "received_at",
)
_INSERT_ACK = (
    f"INSERT INTO t_ack ({', '.join(ACK_COLUMNS)}) "  # noqa: S608 (constant column names)
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (ack_id) DO NOTHING"
)
AckRow = tuple[str, str, str, str, float, str | None, str, datetime]


@contextlib.asynccontextmanager
async def timed(metrics: MetricsSink, op: str) -> AsyncIterator[None]:
    """Observe a journal write's time; count, log and re-raise its failure."""
    t0 = time.perf_counter()
    try:
        yield
    except Exception as exc:
        metrics.inc(m.JOURNAL_ERRORS, op=op)
        log.error("journal_write_failed", op=op, error=str(exc))
        raise
    metrics.observe(m.JOURNAL_WRITE, time.perf_counter() - t0, op=op)


class AckBuffer:
    """Rows of ``t_ack`` waiting to be written."""

    def __init__(
        self,
        db: Executor,
        metrics: MetricsSink,
        *,
        flush_interval_s: float,
        flush_rows: int,
        retry_s: float,
    ) -> None:
        self.db = db
        self.metrics = metrics
        self.flush_interval_s = flush_interval_s
        self.flush_rows = flush_rows
        self.retry_s = retry_s
        self._rows: list[AckRow] = []
        self._writing = 0
        self._kick = asyncio.Event()
        self._full = asyncio.Event()
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        """Rows not written yet (including those being written)."""
        return len(self._rows) + self._writing

    def add(self, row: AckRow) -> None:
        """Queue a row for the next write (never blocks)."""
        self._rows.append(row)
        self._kick.set()
        if len(self._rows) >= self.flush_rows:
            self._full.set()

    async def flush(self) -> int:
        """Write every queued row now; how many. Raises (keeping them) on failure."""
        async with self._lock:
            batch, self._rows = self._rows, []
            if not batch:
                return 0
            self._writing = len(batch)
            try:
                async with timed(self.metrics, "acks"):
                    await self.db.copy("t_ack", ACK_COLUMNS, batch)
            except QueryError:
                await self._one_by_one(batch)
            except Exception as exc:
                self._rows[:0] = batch  # retried first by the next flush, in arrival order
                log.warning("journal_acks_retry", acks=len(batch), error=str(exc))
                raise
            finally:
                self._writing = 0
            return len(batch)

    async def run(self) -> None:
        """Write batches in the background until cancelled."""
        while True:
            await self._kick.wait()
            if not self._full.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.flush_interval_s):
                        await self._full.wait()
            self._kick.clear()
            self._full.clear()
            try:
                await self.flush()
            except Exception:
                self._kick.set()  # still pending: try again after a pause
                await asyncio.sleep(self.retry_s)

    async def _one_by_one(self, batch: list[AckRow]) -> None:
        """A batch the database refused: write each row alone, skip only a row it refuses."""
        for row in batch:
            try:
                await self.db.execute(_INSERT_ACK, *row)
            except QueryError as exc:
                self.metrics.inc(m.JOURNAL_ERRORS, op="ack_refused")
                log.error("journal_ack_refused", ack_id=row[0], order_id=row[1], error=str(exc))
