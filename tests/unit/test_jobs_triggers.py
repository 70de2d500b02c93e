"""A site's trigger queue: coalescing, the strongest trigger, debounce."""

from __future__ import annotations

import asyncio
import time

import pytest

from allocation import Trigger
from v2g.jobs.triggers import STRENGTH, Pending, TriggerQueue, strongest

T = Trigger


def test_triggers_coalesce_into_one_batch_with_the_strongest() -> None:
    """Several triggers make one pending run: the strongest trigger, every detail, the count."""
    queue = TriggerQueue(settle_s=0.0)
    queue.put(T.NEW_ROUTE, "route r9 added")
    queue.put(T.CANCELLATION, "route r1 cancelled")
    queue.put(T.VEHICLE_UNAVAILABLE, "ev042 offline")
    queue.put(T.ROLLING)
    assert queue.take() == Pending(
        T.CANCELLATION, ("route r9 added", "route r1 cancelled", "ev042 offline"), 4
    )
    assert queue.take() is None


@pytest.mark.parametrize(
    ("weaker", "stronger"),
    [
        (T.ROLLING, T.NEW_ROUTE),
        (T.NEW_ROUTE, T.VEHICLE_UNAVAILABLE),
        (T.VEHICLE_UNAVAILABLE, T.CANCELLATION),
        (T.CANCELLATION, T.INITIAL),
    ],
)
def test_the_stronger_trigger_wins_in_either_order(weaker: Trigger, stronger: Trigger) -> None:
    """initial > cancellation > vehicle_unavailable > new_route > rolling, whatever came first."""
    assert strongest(weaker, stronger) is stronger
    assert strongest(stronger, weaker) is stronger


def test_every_trigger_has_a_strength() -> None:
    """No trigger type is left out of the order."""
    assert set(STRENGTH) == set(Trigger)


def test_a_failed_batch_merges_back_with_what_came_meanwhile() -> None:
    """Re-adding a batch keeps its trigger if stronger and adds up details and counts."""
    queue = TriggerQueue(settle_s=0.0)
    queue.put(T.NEW_ROUTE, "r7")
    queue.add(Pending(T.INITIAL, ("start-up",)))
    assert queue.pending == Pending(T.INITIAL, ("r7", "start-up"), 2)


async def test_wait_gives_up_after_the_timeout_when_nothing_comes() -> None:
    """No trigger within the timeout: None (the caller runs its rolling run)."""
    queue = TriggerQueue(settle_s=0.01)
    assert await queue.wait(0.02) is None


async def test_a_trigger_wakes_a_waiting_job_before_its_timeout() -> None:
    """A trigger put while the job waits for its next rolling run ends the wait early."""
    queue = TriggerQueue(settle_s=0.01)
    loop = asyncio.get_running_loop()
    loop.call_later(0.02, queue.put, T.CANCELLATION, "r1")
    started = time.perf_counter()
    batch = await queue.wait(5.0)
    assert batch == Pending(T.CANCELLATION, ("r1",))
    assert time.perf_counter() - started < 1.0


async def test_a_burst_of_triggers_is_debounced_into_one_run() -> None:
    """Triggers 20 ms apart with settle_s=0.1 make one batch, taken 0.1 s after the last."""
    queue = TriggerQueue(settle_s=0.1, max_settle_s=5.0)
    loop = asyncio.get_running_loop()
    for i in range(5):
        loop.call_later(0.02 * i, queue.put, T.VEHICLE_UNAVAILABLE, f"ev{i} offline")
    started = time.perf_counter()
    batch = await queue.wait(5.0)
    elapsed = time.perf_counter() - started
    assert batch is not None
    assert (batch.trigger, batch.count) == (T.VEHICLE_UNAVAILABLE, 5)
    assert 0.08 + 0.1 <= elapsed < 1.0
    assert queue.pending is None


async def test_a_steady_stream_of_triggers_still_gets_a_run() -> None:
    """Triggers coming faster than settle_s forever: the batch is taken after max_settle_s."""
    queue = TriggerQueue(settle_s=0.1, max_settle_s=0.2)
    loop = asyncio.get_running_loop()
    for i in range(30):
        loop.call_later(0.03 * i, queue.put, T.NEW_ROUTE, f"r{i}")
    started = time.perf_counter()
    batch = await queue.wait(5.0)
    elapsed = time.perf_counter() - started
    assert batch is not None
    assert 0.19 <= elapsed < 0.5
    assert batch.count < 30


def test_settle_times_are_checked() -> None:
    """A negative settle_s or a cap below it is refused."""
    with pytest.raises(ValueError, match="settle_s"):
        TriggerQueue(settle_s=-1.0)
    with pytest.raises(ValueError, match="settle_s"):
        TriggerQueue(settle_s=2.0, max_settle_s=1.0)
