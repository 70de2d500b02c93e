"""Dispatch journal benchmark: writing one round of orders, and their acks, per backend.

For each database URL (the embedded SQLite file in a temporary directory, plus every
``--url`` given, e.g. a PostgreSQL database) it prints the median over ``--repeats`` of:

- ``orders``: :meth:`SqlJournal.orders_sent` for one round of ``--orders`` orders (one COPY on
  PostgreSQL, one prepared insert on SQLite): this runs before the round is published;
- ``acks``: one :meth:`SqlJournal.flush` of as many acks (the background flusher's work);
- ``dispatch``: a whole in-process dispatch (Smart, every vehicle accepting at once) of a
  fleet of ``--orders`` vehicles journaling into that database (the first row, ``none``, is
  the same dispatch with the default :class:`~dispatch.ports.NopJournal`).

The URLs given must point at a migrated (or empty) database the benchmark may write to.

    python benchmarks/journal_write.py [--orders 10000] [--repeats 5] [--url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dispatch import (
    Ack,
    AckStatus,
    AckVerdict,
    DispatchJournal,
    DispatchManager,
    DispatchStatus,
    FlexibilitySignal,
    NopJournal,
    Order,
)
from fleet import Direction, StaticFleet, Vehicle
from v2g.clock import SystemClock
from v2g.sim import SimulatedFleet, make_fleet
from v2g.storage import open_database, redact, upgrade
from v2g.storage.journal import SqlJournal
from v2g.table import render_table


def _orders(signal: FlexibilitySignal, n: int, now: datetime) -> list[Order]:
    expires = now + timedelta(seconds=5)
    return [
        Order(
            f"{signal.signal_id}.0.{i}",
            signal.signal_id,
            signal.site_id,
            f"ev{i:05d}",
            Direction.DISCHARGE,
            7.4,
            signal.start,
            signal.end,
            expires,
        )
        for i in range(n)
    ]


async def _dispatch_s(fleet: list[Vehicle], journal: DispatchJournal, k: int) -> float:
    sim = SimulatedFleet(ack_timeout_s=5.0)
    manager = DispatchManager(
        fleet=StaticFleet(fleet),
        publisher=sim,
        clock=SystemClock(),
        ack_timeout_s=5.0,
        journal=journal,
    )
    sim.connect(manager.handle_ack)
    usable = sum(v.effective_capacity(Direction.DISCHARGE, 0.5) for v in fleet)
    signal = FlexibilitySignal(
        signal_id=f"bench-dispatch-{time.time_ns()}-{k}",
        site_id="10",
        direction=Direction.DISCHARGE,
        power_kw=round(0.5 * usable, 1),
        start=datetime.now(UTC) + timedelta(minutes=5),
        duration_s=1800,
    )
    gc.collect()
    t0 = time.perf_counter()
    result = await manager.dispatch(signal)
    elapsed = time.perf_counter() - t0
    assert result.status is DispatchStatus.FULFILLED, result.reason
    return elapsed


async def _dispatches(journal: DispatchJournal, n: int, repeats: int) -> float:
    fleet = make_fleet(n, seed=1)
    return statistics.median([await _dispatch_s(fleet, journal, k) for k in range(repeats)])


async def _measure(url: str, n: int, repeats: int) -> tuple[float, float, float]:
    async with open_database(url) as db:
        await upgrade(db)
        journal = SqlJournal(db)
        order_s, ack_s = [], []
        for k in range(repeats):
            now = datetime.now(UTC)
            signal = FlexibilitySignal(
                signal_id=f"bench-{time.time_ns()}-{k}",
                site_id="bench",
                direction=Direction.DISCHARGE,
                power_kw=1000.0,
                start=now + timedelta(minutes=1),
                duration_s=1800,
            )
            await journal.dispatch_started(
                signal, dispatcher="smart", fallback="noop", ack_timeout_s=5.0, at=now
            )
            orders = _orders(signal, n, now)
            t0 = time.perf_counter()
            await journal.orders_sent(orders, now)
            order_s.append(time.perf_counter() - t0)
            for o in orders:
                ack = Ack(o.order_id, o.vehicle_id, AckStatus.ACCEPTED, o.power_kw)
                journal.ack_received(ack, AckVerdict.MATCHED, o, now)
            t0 = time.perf_counter()
            await journal.flush()
            ack_s.append(time.perf_counter() - t0)
            await db.execute("DELETE FROM t_signal WHERE signal_id = $1", signal.signal_id)
        async with SqlJournal(db) as running:
            dispatch_s = await _dispatches(running, n, repeats)
        await db.execute("DELETE FROM t_signal WHERE signal_id LIKE 'bench-dispatch-%'")
        return statistics.median(order_s), statistics.median(ack_s), dispatch_s


async def _main(args: argparse.Namespace) -> None:
    nop_s = await _dispatches(NopJournal(), args.orders, args.repeats)
    rows: list[list[object]] = [["none (NopJournal)", args.orders, "", "", f"{nop_s * 1e3:.1f}"]]
    with tempfile.TemporaryDirectory() as tmp:
        urls = [f"sqlite:///{Path(tmp) / 'journal.db'}", *args.url]
        for url in urls:
            orders_s, acks_s, dispatch_s = await _measure(url, args.orders, args.repeats)
            name = "sqlite (temp file)" if url.startswith("sqlite") else redact(url)
            ms = (f"{x * 1e3:.1f}" for x in (orders_s, acks_s, dispatch_s))
            rows.append([name, args.orders, *ms])
    print(render_table(["database", "rows", "orders_ms", "acks_ms", "dispatch_ms"], rows))


def main() -> None:
    """Parse the arguments and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--url", action="append", default=[], help="another database URL")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
