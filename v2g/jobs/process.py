"""The process-pool :class:`~v2g.jobs.offload.Offload` of ``v2g serve``.

Workers are started with ``spawn``: forking a process that runs an event loop and threads
is unsafe. A solve runs under the worker's own GIL, so the service's loop keeps serving MQTT
acks meanwhile; the function, its arguments and its result cross by pickle (module-level
functions and pydantic models do). A running call cannot be interrupted: on a timeout the
pool's processes are killed and a new pool replaces it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, Self, TypeVar

import structlog

from v2g.jobs.errors import JobError, JobTimeoutError

log = structlog.get_logger(__name__)

T = TypeVar("T")


def worker_ready(*modules: str) -> int:
    """Import what of ``modules`` imports in this worker; its pid. Runs first in a new worker."""
    for name in modules:
        with contextlib.suppress(ImportError):  # best effort: the call itself will say
            importlib.import_module(name)
    return os.getpid()


def _kill(pool: ProcessPoolExecutor) -> None:
    # no public API reaches a pool's processes; a running call cannot be interrupted otherwise
    for process in list((pool._processes or {}).values()):
        process.kill()


class ProcessOffload:
    """An async context manager owning a ``spawn`` process pool of ``max_workers`` workers.

    At most ``max_workers`` calls run at once; more wait their turn on the loop, and
    ``timeout_s`` counts from when a call gets a worker (and after a new pool's first worker
    has started: a restart does not eat into the next call's time). A call past ``timeout_s`` raises
    :class:`JobTimeoutError`, and a worker that dies :class:`JobError`: either way the pool's
    processes are killed and a new pool takes its place (other calls running in the old one
    fail with :class:`JobError`). A cancelled caller leaves its solve running to the end;
    leaving the context kills the workers still busy.
    """

    def __init__(
        self,
        *,
        max_workers: int = 1,
        timeout_s: float | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be >= 1")
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        self.max_workers = max_workers
        self.timeout_s = timeout_s
        self.restarts = 0
        self._initializer = initializer
        self._initargs = initargs
        self._slots = asyncio.Semaphore(max_workers)
        self._pool: ProcessPoolExecutor | None = None
        self._busy: set[Future[Any]] = set()
        self._modules: set[str] = set()
        self._started = False

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.max_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=self._initializer,
            initargs=self._initargs,
        )

    async def __aenter__(self) -> Self:
        """Create the pool; its workers start on the first call (or :meth:`warm`)."""
        self._pool = self._new_pool()
        self._started = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Kill the workers still solving, then shut the pool down."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if any(not f.done() for f in tuple(self._busy)):  # done callbacks run in another thread
            _kill(pool)
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def warm(self, *modules: str) -> None:
        """Start every worker now, importing ``modules`` in it, so the first solve waits less."""
        self._modules.update(modules)
        await asyncio.gather(
            *(self._run(worker_ready, self._preload(), {}) for _ in range(self.max_workers))
        )
        self._started = True

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """The result of ``fn(*args, **kwargs)``, computed in a worker process.

        A new pool's worker is started (and imports the modules of earlier calls) before the
        call's ``timeout_s`` starts counting.
        """
        module = getattr(fn, "__module__", None)
        if module and not module.startswith("__"):  # a main script is not importable by name
            self._modules.add(module)
        if not self._started:
            await self._run(worker_ready, self._preload(), {})
            self._started = True
        return await self._run(fn, args, kwargs, timeout_s=self.timeout_s)

    def _preload(self) -> tuple[str, ...]:
        return tuple(sorted(self._modules))

    async def _run(
        self,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        timeout_s: float | None = None,
    ) -> T:
        job = getattr(fn, "__name__", type(fn).__name__)
        async with self._slots:
            if self._pool is None:
                raise RuntimeError("ProcessOffload used outside its 'async with' block")
            pool = self._pool
            deadline = asyncio.timeout(timeout_s)
            try:
                async with deadline:
                    future = pool.submit(fn, *args, **kwargs)
                    self._busy.add(future)
                    future.add_done_callback(self._busy.discard)
                    return await asyncio.wrap_future(future)
            except TimeoutError:
                if not deadline.expired():
                    raise  # the function's own TimeoutError
                self._replace(pool, reason="timeout")
                raise JobTimeoutError(
                    f"no result after {timeout_s} s, worker killed",
                    timeout_s=timeout_s or 0.0,
                    site_id=_site(),
                    job=job,
                ) from None
            except BrokenProcessPool as exc:
                self._replace(pool, reason="worker died")
                raise JobError("the worker process died", site_id=_site(), job=job) from exc

    def _replace(self, pool: ProcessPoolExecutor, *, reason: str) -> None:
        """Kill ``pool``'s processes and put a fresh pool in its place (once per pool)."""
        _kill(pool)
        pool.shutdown(wait=False, cancel_futures=True)
        if self._pool is pool:
            self._pool = self._new_pool()
            self._started = False
            self.restarts += 1
            log.warning("offload_pool_restarted", reason=reason, restarts=self.restarts)


def _site() -> str | None:
    """The site bound to the log context of the calling task, if any."""
    site = structlog.contextvars.get_contextvars().get("site_id")
    return None if site is None else str(site)
