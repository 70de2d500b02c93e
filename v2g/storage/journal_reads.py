"""The dispatch journal's read side: what a restarted service needs to carry on.

- :func:`in_flight`: dispatches started and never finished, with their orders and the acks
  journaled so far (in arrival order), for recovery;
- :func:`recent_results`: stored results, to answer a repeated signal id without orders;
- :func:`commitments`: vehicles that acknowledged power for a period not over yet, so the
  restarted manager does not book them twice.

The sets read are small (a few dispatches in flight, a site's recent results), so site
filters are applied in Python: one statement text for both dialects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from dispatch.models import DispatchResult, Order
from v2g.storage.database import Executor
from v2g.storage.journal_records import (
    Commitment,
    InFlightDispatch,
    JournaledAck,
    ack_from,
    order_from,
    result_from,
    signal_from,
)

_ORDERS = (
    "SELECT o.* FROM t_order o JOIN t_signal s ON s.signal_id = o.signal_id "
    "WHERE s.state = 'in_flight' ORDER BY o.round, o.order_id"
)
_ACKS = (
    "SELECT a.*, o.signal_id FROM t_ack a JOIN t_order o ON o.order_id = a.order_id "
    "JOIN t_signal s ON s.signal_id = o.signal_id "
    "WHERE s.state = 'in_flight' ORDER BY a.received_at, a.ack_id"
)
_RESULTS = (
    "SELECT r.payload, r.finished_at, s.site_id FROM t_result r "
    "JOIN t_signal s ON s.signal_id = r.signal_id "
)


def _served(site_id: str, sites: Sequence[str] | None) -> bool:
    return sites is None or site_id in sites


async def in_flight(db: Executor, sites: Sequence[str] | None = None) -> list[InFlightDispatch]:
    """Every dispatch journaled ``in_flight`` (of ``sites``), oldest first."""
    signals = [
        row
        for row in await db.fetch(
            "SELECT signal_id, site_id, payload, dispatcher, fallback, ack_timeout_s, "
            "received_at FROM t_signal WHERE state = 'in_flight' ORDER BY received_at"
        )
        if _served(row["site_id"], sites)
    ]
    if not signals:
        return []
    orders: dict[str, list[Order]] = defaultdict(list)
    for row in await db.fetch(_ORDERS):
        orders[row["signal_id"]].append(order_from(row))
    acks: dict[str, list[JournaledAck]] = defaultdict(list)
    for row in await db.fetch(_ACKS):
        acks[row["signal_id"]].append(ack_from(row))
    return [
        InFlightDispatch(
            signal=signal_from(row["payload"]),
            dispatcher=row["dispatcher"],
            fallback=row["fallback"],
            ack_timeout_s=float(row["ack_timeout_s"]),
            received_at=row["received_at"],
            orders=tuple(orders[row["signal_id"]]),
            acks=tuple(acks[row["signal_id"]]),
        )
        for row in signals
    ]


async def recent_results(
    db: Executor, limit: int, sites: Sequence[str] | None = None
) -> list[DispatchResult]:
    """The latest ``limit`` results (of each of ``sites``, if given), oldest first."""
    if sites is None:
        rows = await db.fetch(_RESULTS + "ORDER BY r.finished_at DESC LIMIT $1", limit)
    else:
        rows = []
        for site in sites:
            rows += await db.fetch(
                _RESULTS + "WHERE s.site_id = $1 ORDER BY r.finished_at DESC LIMIT $2",
                site,
                limit,
            )
    rows.sort(key=lambda row: row["finished_at"])
    return [result_from(row["payload"]) for row in rows]


async def commitments(
    db: Executor, now: datetime, sites: Sequence[str] | None = None
) -> list[Commitment]:
    """Vehicles with a credited, accepted ack for an order whose period ends after ``now``."""
    rows = await db.fetch(
        "SELECT DISTINCT o.site_id, o.signal_id, o.vehicle_id, o.start_at, o.end_at "
        "FROM t_order o JOIN t_ack a ON a.order_id = o.order_id "
        "WHERE a.verdict = 'matched' AND a.status = 'accepted' AND a.accepted_kw > 0 "
        "AND o.end_at > $1",
        now,
    )
    return [
        Commitment(r["site_id"], r["signal_id"], r["vehicle_id"], r["start_at"], r["end_at"])
        for r in rows
        if _served(r["site_id"], sites)
    ]
