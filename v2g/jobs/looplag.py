"""How late the event loop runs: the proof that solves do not block MQTT acks.

A probe task sleeps ``interval_s`` over and over and measures how much later than asked it
woke up. Anything holding the loop (a solve run inline, a long synchronous loop, a big garbage
collection) shows up as lag. Every lag is observed in ``v2g_event_loop_lag_seconds``; every
``report_every_s`` the largest lag of the interval is set on ``v2g_event_loop_lag_max_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

from metrics import MetricsSink
from metrics import catalog as m


class LoopLagMonitor:
    """An async context manager running the lag probe in its own named task."""

    def __init__(
        self,
        sink: MetricsSink,
        *,
        interval_s: float = 0.05,
        report_every_s: float = 5.0,
        name: str = "event-loop-lag",
    ) -> None:
        if interval_s <= 0 or report_every_s <= 0:
            raise ValueError("interval_s and report_every_s must be > 0")
        self.sink = sink
        self.interval_s = interval_s
        self.report_every_s = report_every_s
        self.name = name
        self._max_lag_s = 0.0
        self._samples = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def max_lag_s(self) -> float:
        """Largest lag measured since the start or the last :meth:`reset`."""
        return self._max_lag_s

    @property
    def samples(self) -> int:
        """Lags measured since the start or the last :meth:`reset`."""
        return self._samples

    def reset(self) -> None:
        """Start a new measurement for :attr:`max_lag_s` and :attr:`samples`."""
        self._max_lag_s = 0.0
        self._samples = 0

    async def __aenter__(self) -> Self:
        """Start the probe."""
        self._task = asyncio.create_task(self._probe(), name=self.name)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the probe."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        report_at = loop.time() + self.report_every_s
        interval_max = 0.0
        while True:
            asked = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            now = loop.time()
            lag = max(0.0, now - asked)
            self._samples += 1
            self._max_lag_s = max(self._max_lag_s, lag)
            interval_max = max(interval_max, lag)
            self.sink.observe(m.EVENT_LOOP_LAG, lag)
            if now >= report_at:
                self.sink.set(m.EVENT_LOOP_LAG_MAX, interval_max)
                interval_max = 0.0
                report_at = now + self.report_every_s
