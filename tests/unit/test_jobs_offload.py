"""Solves off the event loop: the process pool, its failures, the inline and thread adapters."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import structlog

from v2g.jobs import InlineOffload, JobError, JobTimeoutError, ProcessOffload, ThreadOffload
from v2g.logs import configure_logging

pytestmark = pytest.mark.asyncio(loop_scope="module")


# --- what the workers run: module-level, so they pickle by name --------------------------------


def pid() -> int:
    """The process the call ran in."""
    return os.getpid()


def crash() -> None:
    """Die the hard way, as a segfaulting solver would."""
    os._exit(1)


def fail(message: str) -> None:
    """Raise an ordinary error."""
    raise ValueError(message)


def power(base: int, *, exp: int) -> int:
    """A keyword argument crosses the process boundary too."""
    return int(base**exp)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[ProcessOffload]:
    """One warm worker, spawned once for the module, with quiet logs and no timeout."""
    async with ProcessOffload(initializer=configure_logging, initargs=("WARNING",)) as offload:
        await offload.warm()
        yield offload


async def test_process_offload_runs_the_call_in_another_process(pool: ProcessOffload) -> None:
    """A picklable function with positional and keyword arguments runs in a worker process."""
    assert await pool(pid) != os.getpid()
    assert await pool(power, 2, exp=10) == 1024


async def test_an_ordinary_error_crosses_back_and_keeps_the_pool(pool: ProcessOffload) -> None:
    """The function's own exception is re-raised as is; the worker is not replaced."""
    worker = await pool(pid)
    with pytest.raises(ValueError, match="bad day"):
        await pool(fail, "bad day")
    assert pool.restarts == 0
    assert await pool(pid) == worker


async def test_timeouts_and_crashes_replace_the_worker_and_the_next_call_works() -> None:
    """Timeout: JobTimeoutError; a dead worker: JobError; each time a new pool serves next."""
    async with ProcessOffload(timeout_s=0.5) as offload:
        first = await offload(pid)
        started = time.perf_counter()
        with pytest.raises(JobTimeoutError) as late:
            await offload(time.sleep, 30.0)
        assert time.perf_counter() - started < 2.0
        assert (late.value.timeout_s, late.value.job, offload.restarts) == (0.5, "sleep", 1)
        second = await offload(pid)
        assert second != first

        with (
            structlog.contextvars.bound_contextvars(site_id="10"),
            pytest.raises(JobError, match="worker process died") as died,
        ):
            await offload(crash)
        assert not isinstance(died.value, JobTimeoutError)
        assert (died.value.site_id, died.value.job, offload.restarts) == ("10", "crash", 2)
        assert await offload(pid) not in {first, second}


async def test_leaving_the_context_kills_a_solve_still_running() -> None:
    """A cancelled caller's solve keeps its worker busy; exiting kills it instead of waiting."""
    started = time.perf_counter()
    async with ProcessOffload() as offload:
        await offload.warm()
        call = asyncio.create_task(offload(time.sleep, 30.0))
        await asyncio.sleep(0.2)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    assert time.perf_counter() - started < 5.0


async def test_offload_outside_its_context_is_refused() -> None:
    """Calling a pool that was never entered raises instead of hanging."""
    with pytest.raises(RuntimeError, match="async with"):
        await ProcessOffload()(pid)


async def test_process_offload_checks_its_settings() -> None:
    """No workers or a non-positive timeout are refused at construction."""
    with pytest.raises(ValueError, match="max_workers"):
        ProcessOffload(max_workers=0)
    with pytest.raises(ValueError, match="timeout_s"):
        ProcessOffload(timeout_s=0.0)


async def test_inline_and_thread_offloads_return_the_result() -> None:
    """The inline and thread adapters run the call with its arguments."""
    assert await InlineOffload()(power, 2, exp=3) == 8
    assert await ThreadOffload()(power, 2, exp=4) == 16
