"""The typed event bus: delivery by class, handler isolation, drain and unsubscribe."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from structlog.testing import capture_logs

from eventbus import EventBus


@dataclass(frozen=True)
class Happened:
    """A base event."""

    n: int


@dataclass(frozen=True)
class Specific(Happened):
    """A subclass of :class:`Happened`."""


@dataclass(frozen=True)
class Unrelated:
    """An event outside the hierarchy."""


class Recorder:
    """A handler that remembers what it received."""

    def __init__(self) -> None:
        self.seen: list[object] = []

    def __call__(self, event: object) -> None:
        self.seen.append(event)


class AsyncRecorder:
    """A coroutine handler that remembers what it received."""

    def __init__(self) -> None:
        self.seen: list[object] = []

    async def __call__(self, event: object) -> None:
        await asyncio.sleep(0)
        self.seen.append(event)


def _explode(event: object) -> None:
    raise RuntimeError("sync handler failure")


async def _explode_later(event: object) -> None:
    await asyncio.sleep(0)
    raise RuntimeError("async handler failure")


async def test_sync_handler_receives_event_inline() -> None:
    """A sync handler has the event as soon as publish returns."""
    bus, rec = EventBus(), Recorder()
    bus.subscribe(Happened, rec)
    bus.publish(Happened(1))
    assert rec.seen == [Happened(1)]


async def test_async_handler_receives_event_after_drain() -> None:
    """A coroutine handler runs as a task and has the event once the bus is drained."""
    bus, rec = EventBus(), AsyncRecorder()
    bus.subscribe(Happened, rec)
    bus.publish(Happened(1))
    bus.publish(Happened(2))
    await bus.drain()
    assert rec.seen == [Happened(1), Happened(2)]


async def test_base_class_subscribers_receive_subclass_events() -> None:
    """Subscribers of a base class get subclass events; the reverse does not hold."""
    bus, base, sub, other = EventBus(), Recorder(), Recorder(), Recorder()
    bus.subscribe(Happened, base)
    bus.subscribe(Specific, sub)
    bus.subscribe(Unrelated, other)
    bus.publish(Specific(1))
    bus.publish(Happened(2))
    assert base.seen == [Specific(1), Happened(2)]
    assert sub.seen == [Specific(1)]
    assert other.seen == []


async def test_object_subscriber_receives_every_event() -> None:
    """Subscribing to ``object`` sees every event published."""
    bus, rec = EventBus(), Recorder()
    bus.subscribe(object, rec)
    bus.publish(Happened(1))
    bus.publish(Unrelated())
    assert rec.seen == [Happened(1), Unrelated()]


async def test_raising_sync_handler_is_isolated_counted_and_logged() -> None:
    """A sync handler that raises does not stop others or the publisher; it is counted, logged."""
    bus, before, after = EventBus(), Recorder(), Recorder()
    bus.subscribe(Happened, before)
    bus.subscribe(Happened, _explode)
    bus.subscribe(Happened, after)
    with capture_logs() as logs:
        bus.publish(Happened(1))
    assert before.seen == [Happened(1)]
    assert after.seen == [Happened(1)]
    assert bus.failures == 1
    failures = [e for e in logs if e["event"] == "event_handler_failed"]
    assert len(failures) == 1
    assert failures[0]["log_level"] == "error"
    assert failures[0]["event_type"] == "Happened"
    assert failures[0]["handler"] == "_explode"
    assert failures[0]["exc_info"] is True


async def test_raising_async_handler_is_isolated_counted_and_logged() -> None:
    """A coroutine handler that raises is counted and logged; others still receive."""
    bus, sync_rec, async_rec = EventBus(), Recorder(), AsyncRecorder()
    bus.subscribe(Happened, _explode_later)
    bus.subscribe(Happened, sync_rec)
    bus.subscribe(Happened, async_rec)
    with capture_logs() as logs:
        bus.publish(Specific(7))
        await bus.drain()
    assert sync_rec.seen == [Specific(7)]
    assert async_rec.seen == [Specific(7)]
    assert bus.failures == 1
    failures = [e for e in logs if e["event"] == "event_handler_failed"]
    assert len(failures) == 1
    assert failures[0]["event_type"] == "Specific"
    assert failures[0]["handler"] == "_explode_later"


async def test_failures_accumulate_across_publishes() -> None:
    """Every failing delivery adds one to ``failures``."""
    bus = EventBus()
    bus.subscribe(Happened, _explode)
    bus.subscribe(Happened, _explode_later)
    with capture_logs():
        for n in range(3):
            bus.publish(Happened(n))
        await bus.drain()
    assert bus.failures == 6


async def test_unsubscribe_stops_delivery_and_is_idempotent() -> None:
    """After unsubscribe the handler gets nothing; calling it twice is harmless."""
    bus, gone, kept = EventBus(), Recorder(), Recorder()
    unsubscribe = bus.subscribe(Happened, gone)
    bus.subscribe(Happened, kept)
    bus.publish(Happened(1))
    unsubscribe()
    unsubscribe()
    bus.publish(Happened(2))
    assert gone.seen == [Happened(1)]
    assert kept.seen == [Happened(1), Happened(2)]


async def test_drain_waits_for_slow_async_handlers() -> None:
    """drain returns only after a handler that sleeps has finished."""
    bus, done = EventBus(), []

    async def slow(event: Happened) -> None:
        await asyncio.sleep(0.02)
        done.append(event.n)

    bus.subscribe(Happened, slow)
    bus.publish(Happened(1))
    await asyncio.sleep(0)
    assert done == []
    await asyncio.wait_for(bus.drain(), timeout=2)
    assert done == [1]


async def test_drain_waits_for_events_published_by_handlers() -> None:
    """A handler that publishes during drain has its follow-up handled before drain returns."""
    bus, rec = EventBus(), AsyncRecorder()

    async def relay(event: Happened) -> None:
        await asyncio.sleep(0)
        bus.publish(Unrelated())

    bus.subscribe(Happened, relay)
    bus.subscribe(Unrelated, rec)
    bus.publish(Happened(1))
    await asyncio.wait_for(bus.drain(), timeout=2)
    assert rec.seen == [Unrelated()]


async def test_publish_does_not_wait_for_async_handlers() -> None:
    """publish returns while a handler is still blocked on a gate opened only afterwards."""
    bus, gate, steps = EventBus(), asyncio.Event(), []

    async def gated(event: Happened) -> None:
        steps.append("started")
        await gate.wait()
        steps.append("finished")

    bus.subscribe(Happened, gated)
    bus.publish(Happened(1))
    steps.append("published")
    await asyncio.sleep(0)
    assert steps == ["published", "started"]
    gate.set()
    await asyncio.wait_for(bus.drain(), timeout=2)
    assert steps == ["published", "started", "finished"]
