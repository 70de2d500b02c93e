"""The dispatch journal repository, on SQLite and on PostgreSQL (the ``db`` fixture)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch import Ack, AckStatus, AckVerdict, DispatchResult, DispatchStatus, Order
from dispatch.models import Outcome, VehicleOutcome
from fleet import Direction
from metrics import RecordingSink
from metrics import catalog as m
from tests.integration.gateway import eventually
from tests.support import signal
from v2g.storage import Database, DatabaseUnavailableError, Executor, Row
from v2g.storage.journal import SqlJournal
from v2g.storage.journal_records import JournalConflictError

NOW = datetime(2026, 11, 21, 16, 0, tzinfo=UTC)
START = NOW + timedelta(minutes=1)


def orders(signal_id: str, n: int, *, site: str = "10", kw: float = 10.0) -> list[Order]:
    """``n`` discharge orders of round 0 for vehicles v0..v{n-1}."""
    end = START + timedelta(minutes=30)
    expires = NOW + timedelta(seconds=5)
    return [
        Order(
            f"{signal_id}.0.{i}",
            signal_id,
            site,
            f"v{i}",
            Direction.DISCHARGE,
            kw,
            START,
            end,
            expires,
        )
        for i in range(n)
    ]


def result(signal_id: str, acknowledged_kw: float, *, site: str = "10") -> DispatchResult:
    """A partial result of one vehicle."""
    return DispatchResult(
        signal_id=signal_id,
        site_id=site,
        status=DispatchStatus.PARTIAL,
        requested_kw=30.0,
        allocated_kw=30.0,
        acknowledged_kw=acknowledged_kw,
        dispatcher="smart",
        fallback="noop",
        rounds=1,
        started_at=NOW,
        finished_at=NOW + timedelta(seconds=1),
        vehicles=(VehicleOutcome("v0", 10.0, acknowledged_kw, Outcome.PARTIAL),),
        reason="partial 1",
    )


async def start(journal: SqlJournal, signal_id: str, *, site: str = "10") -> None:
    """Journal a signal as started."""
    stored = await journal.dispatch_started(
        signal(signal_id, site=site), dispatcher="smart", fallback="noop", ack_timeout_s=5.0, at=NOW
    )
    assert stored is None


async def test_a_dispatch_is_journaled_from_signal_to_result(db: Database) -> None:
    """Signal, orders and every ack (matched, late, duplicate, wrong vehicle) are written;
    the dispatch is in flight until its result is, then completed with its result stored."""
    journal = SqlJournal(db)
    await start(journal, "sig-1")
    sent = orders("sig-1", 3)
    await journal.orders_sent(sent, NOW)
    at = NOW + timedelta(seconds=1)
    journal.ack_received(
        Ack(sent[0].order_id, "v0", AckStatus.ACCEPTED, 10.0), AckVerdict.MATCHED, sent[0], at
    )
    journal.ack_received(
        Ack(sent[0].order_id, "v0", AckStatus.ACCEPTED, 10.0), AckVerdict.DUPLICATE, sent[0], at
    )
    journal.ack_received(
        Ack(sent[1].order_id, "v9", AckStatus.ACCEPTED, 5.0), AckVerdict.WRONG_VEHICLE, sent[1], at
    )
    journal.ack_received(
        Ack(sent[2].order_id, "v2", AckStatus.REJECTED), AckVerdict.LATE, sent[2], at
    )
    journal.ack_received(Ack("nope", "v2", AckStatus.REJECTED), AckVerdict.UNKNOWN, None, at)
    assert journal.pending == 4
    assert await journal.flush() == 4

    [found] = await journal.in_flight(["10"])
    assert found.signal == signal("sig-1")
    assert (found.dispatcher, found.fallback, found.ack_timeout_s) == ("smart", "noop", 5.0)
    assert list(found.orders) == sent
    assert [(a.ack.order_id, a.ack.vehicle_id, a.verdict) for a in found.acks] == [
        (sent[0].order_id, "v0", AckVerdict.MATCHED),
        (sent[0].order_id, "v0", AckVerdict.DUPLICATE),
        (sent[1].order_id, "v9", AckVerdict.WRONG_VEHICLE),
        (sent[2].order_id, "v2", AckVerdict.LATE),
    ]
    assert found.acks[0].ack == Ack(sent[0].order_id, "v0", AckStatus.ACCEPTED, 10.0)

    done = result("sig-1", 10.0)
    await journal.dispatch_finished(done)
    assert await journal.in_flight() == []
    row = await db.fetchrow("SELECT state, finished_at FROM t_signal WHERE signal_id = 'sig-1'")
    assert row == {"state": "completed", "finished_at": done.finished_at}
    stored = await db.fetchrow("SELECT status, acknowledged_kw, recovered FROM t_result")
    assert stored == {"status": "partial", "acknowledged_kw": 10.0, "recovered": False}
    assert await journal.recent_results(10) == [done]


async def test_a_known_signal_id_returns_its_stored_result(db: Database) -> None:
    """Journaling a signal id again gives back its stored result; while it is still in
    flight without a result, it is refused with JournalConflictError."""
    journal = SqlJournal(db)
    await start(journal, "sig-1")
    with pytest.raises(JournalConflictError, match="sig-1"):
        await start(journal, "sig-1")
    await journal.dispatch_finished(result("sig-1", 5.0))
    again = await journal.dispatch_started(
        signal("sig-1"), dispatcher="lp", fallback="balanced", ack_timeout_s=1.0, at=NOW
    )
    assert again == result("sig-1", 5.0)


async def test_in_flight_lists_unfinished_dispatches_of_the_served_sites(db: Database) -> None:
    """Finished dispatches and other sites' dispatches are not in flight; one with no
    journaled order is listed with none."""
    journal = SqlJournal(db)
    for sid, site in (("a", "10"), ("b", "10"), ("c", "11"), ("d", "10")):
        await start(journal, sid, site=site)
    await journal.orders_sent(orders("a", 2), NOW)
    await journal.orders_sent(orders("d", 1), NOW)
    await journal.dispatch_finished(result("d", 10.0))
    found = {f.signal.signal_id: f for f in await journal.in_flight(["10"])}
    assert set(found) == {"a", "b"}
    assert len(found["a"].orders) == 2
    assert found["b"].orders == ()
    assert {f.signal.signal_id for f in await journal.in_flight()} == {"a", "b", "c"}


async def test_recent_results_are_the_latest_per_site_oldest_first(db: Database) -> None:
    """recent_results keeps the latest ``limit`` of each site, ordered by finish time;
    a recovered result is marked recovered, a failed one leaves its signal failed."""
    journal = SqlJournal(db)
    for k in range(4):
        await start(journal, f"s{k}")
        done = replace(result(f"s{k}", 1.0 + k), finished_at=NOW + timedelta(seconds=k))
        if k == 3:
            await journal.mark_failed(replace(done, status=DispatchStatus.FAILED))
        elif k == 2:
            await journal.mark_completed(done)
        else:
            await journal.dispatch_finished(done)
    await start(journal, "other", site="11")
    await journal.dispatch_finished(result("other", 1.0, site="11"))
    recent = await journal.recent_results(2, ["10"])
    assert [r.signal_id for r in recent] == ["s2", "s3"]
    assert recent[1].status is DispatchStatus.FAILED
    states = await db.fetch("SELECT signal_id, state FROM t_signal ORDER BY signal_id")
    assert {r["signal_id"]: r["state"] for r in states}["s3"] == "failed"
    recovered = await db.fetchval("SELECT recovered FROM t_result WHERE signal_id = 's2'")
    assert recovered is True


async def test_commitments_are_accepted_acks_of_periods_not_over(db: Database) -> None:
    """Only matched, accepted acks with power count, and only while the period lasts."""
    journal = SqlJournal(db)
    await start(journal, "sig-1")
    sent = orders("sig-1", 3)
    await journal.orders_sent(sent, NOW)
    journal.ack_received(
        Ack(sent[0].order_id, "v0", AckStatus.ACCEPTED, 4.0), AckVerdict.MATCHED, sent[0], NOW
    )
    journal.ack_received(
        Ack(sent[1].order_id, "v1", AckStatus.ACCEPTED, 4.0), AckVerdict.LATE, sent[1], NOW
    )
    journal.ack_received(
        Ack(sent[2].order_id, "v2", AckStatus.REJECTED), AckVerdict.MATCHED, sent[2], NOW
    )
    await journal.flush()
    [held] = await journal.commitments(NOW, ["10"])
    assert (held.signal_id, held.vehicle_id, held.start, held.end) == (
        "sig-1",
        "v0",
        START,
        sent[0].end,
    )
    assert await journal.commitments(sent[0].end) == []
    assert await journal.commitments(NOW, ["11"]) == []


class FlakyAcks:
    """The real database, except that the next ``failures`` writes to t_ack fail."""

    def __init__(self, db: Database, failures: int) -> None:
        self.db = db
        self.failures = failures

    @property
    def dialect(self) -> Any:
        return self.db.dialect

    @property
    def url(self) -> Any:
        return self.db.url

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if table == "t_ack" and self.failures > 0:
            self.failures -= 1
            raise DatabaseUnavailableError("test", "connection lost")
        await self.db.copy(table, columns, rows)

    async def execute(self, sql: str, *args: Any) -> None:
        await self.db.execute(sql, *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.db.executemany(sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self.db.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self.db.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.db.fetchval(sql, *args)

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        return self.db.transaction()

    async def close(self) -> None:
        await self.db.close()


async def test_a_failed_ack_flush_is_counted_and_retried(db: Database) -> None:
    """A write of the acks that fails keeps them, counts the error, and the background
    flusher writes them on a later attempt, in arrival order."""
    sink = RecordingSink()
    flaky = FlakyAcks(db, failures=2)
    async with SqlJournal(flaky, metrics=sink, flush_interval_s=0.01, retry_s=0.02) as journal:
        await start(journal, "sig-1")
        sent = orders("sig-1", 2)
        await journal.orders_sent(sent, NOW)
        for o in sent:
            journal.ack_received(
                Ack(o.order_id, o.vehicle_id, AckStatus.ACCEPTED, 1.0), AckVerdict.MATCHED, o, NOW
            )
        await eventually(lambda: flaky.failures == 0 and journal.pending == 0, timeout_s=3.0)
    assert sink.total(m.JOURNAL_ERRORS, op="acks") == 2
    rows = await db.fetch("SELECT order_id FROM t_ack ORDER BY ack_id")
    assert [r["order_id"] for r in rows] == [o.order_id for o in sent]
    assert sink.observations[m.JOURNAL_WRITE][(("op", "orders"),)]


async def test_acks_are_written_in_the_background_without_a_flush_call(db: Database) -> None:
    """Acks noted with the flusher running reach t_ack within the flush interval."""
    async with SqlJournal(db, flush_interval_s=0.02) as journal:
        await start(journal, "sig-1")
        [o] = orders("sig-1", 1)
        await journal.orders_sent([o], NOW)
        journal.ack_received(
            Ack(o.order_id, "v0", AckStatus.ACCEPTED, 1.0), AckVerdict.MATCHED, o, NOW
        )
        await eventually(lambda: journal.pending == 0, timeout_s=2.0)
        assert await db.fetchval("SELECT COUNT(*) FROM t_ack") == 1


async def test_an_ack_the_database_refuses_is_logged_and_the_rest_written(db: Database) -> None:
    """A batch with a row the database refuses (its order is not journaled) is written row
    by row: the others land, the refused one is counted, the flush does not stall."""
    sink = RecordingSink()
    journal = SqlJournal(db, metrics=sink)
    await start(journal, "sig-1")
    sent = orders("sig-1", 2)
    await journal.orders_sent(sent[:1], NOW)
    for o in sent:
        journal.ack_received(
            Ack(o.order_id, o.vehicle_id, AckStatus.ACCEPTED, 1.0), AckVerdict.MATCHED, o, NOW
        )
    await journal.flush()
    assert journal.pending == 0
    assert await db.fetchval("SELECT COUNT(*) FROM t_ack") == 1
    assert sink.total(m.JOURNAL_ERRORS, op="ack_refused") == 1
