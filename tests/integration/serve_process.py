"""``v2g serve`` as a real child process for integration tests, with its JSON log kept."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal as signals
import sys
from pathlib import Path
from typing import Any

from tests.integration.gateway import eventually


class ServeProcess:
    """``v2g serve`` as a child process; its JSON log lines are kept as they come."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.events: list[dict[str, Any]] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 10.0) -> None:
        """Start it; return once it logs ``service_started``."""
        self.events = []
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "v2g.cli",
            "serve",
            env=self.env,
            cwd=self.cwd,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read(self._proc))
        await eventually(lambda: self.logged("service_started") or self.exited, timeout_s)
        assert not self.exited, f"v2g serve exited: {self.events[-5:]}"

    @property
    def exited(self) -> bool:
        """True once the process has ended."""
        return self._proc is not None and self._proc.returncode is not None

    def logged(self, event: str) -> list[dict[str, Any]]:
        """The log entries named ``event`` so far."""
        return [e for e in self.events if e.get("event") == event]

    async def kill(self) -> None:
        """SIGKILL: no drain, no flush, no goodbye to the broker."""
        await self._end(signals.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM: the service drains and exits."""
        await self._end(signals.SIGTERM)

    async def _end(self, sig: int) -> None:
        if self._proc is None or self.exited:
            return
        self._proc.send_signal(sig)
        await asyncio.wait_for(self._proc.wait(), 10.0)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5.0)

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        async for line in proc.stderr:
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))
