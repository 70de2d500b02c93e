"""A tiny HTTP server for probes and scraping: ``/healthz``, ``/readyz``, ``/metrics``.

Built on :func:`asyncio.start_server` (no web framework): one request per connection, GET
only, the request head bounded in size (``max_head_bytes``) and in time (``read_timeout_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Self

import structlog

log = structlog.get_logger(__name__)

_MAX_HEADER_LINES = 100


@dataclass(frozen=True)
class Response:
    """Status, content type and body of one answer."""

    status: HTTPStatus
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


def _text(status: HTTPStatus, text: str | None = None) -> Response:
    return Response(status, ((text or status.phrase) + "\n").encode())


class HealthServer:
    """Serves the probes and the metrics of one process (an async context manager)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ready: Callable[[], bool],
        metrics: Callable[[], tuple[bytes, str]],
        read_timeout_s: float = 5.0,
        max_head_bytes: int = 8192,
    ) -> None:
        self.host = host
        self.port = port
        self.ready = ready
        self.metrics = metrics
        self.read_timeout_s = read_timeout_s
        self.max_head_bytes = max_head_bytes
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Self:
        """Bind and start accepting; ``port`` is the bound one afterwards (useful with 0)."""
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, limit=self.max_head_bytes
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("http_listening", host=self.host, port=self.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop accepting and close the listening socket."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def respond(self, method: str, path: str) -> Response:
        """The answer to ``method path`` (the query string is ignored)."""
        route = path.split("?", 1)[0]
        if method not in {"GET", "HEAD"}:
            return _text(HTTPStatus.METHOD_NOT_ALLOWED)
        if route == "/healthz":
            return _text(HTTPStatus.OK, "ok")
        if route == "/readyz":
            if self.ready():
                return _text(HTTPStatus.OK, "ready")
            return _text(HTTPStatus.SERVICE_UNAVAILABLE, "not connected to the broker")
        if route == "/metrics":
            body, content_type = self.metrics()
            return Response(HTTPStatus.OK, body, content_type)
        return _text(HTTPStatus.NOT_FOUND)

    async def _read_head(self, reader: asyncio.StreamReader) -> tuple[str, str] | None:
        async with asyncio.timeout(self.read_timeout_s):
            request_line = await reader.readline()
            for _ in range(_MAX_HEADER_LINES):
                if (await reader.readline()) in {b"\r\n", b"\n", b""}:
                    break
            else:
                return None
        parts = request_line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return None
        return parts[0], parts[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await self._read_head(reader)
            except (TimeoutError, ValueError, asyncio.LimitOverrunError):
                head = None  # too slow or too long: answer 400 and close
            response = _text(HTTPStatus.BAD_REQUEST) if head is None else self.respond(*head)
            body = b"" if head is not None and head[0] == "HEAD" else response.body
            writer.write(
                (
                    f"HTTP/1.1 {response.status.value} {response.status.phrase}\r\n"
                    f"Content-Type: {response.content_type}\r\n"
                    f"Content-Length: {len(response.body)}\r\n"
                    "Connection: close\r\n\r\n"
                ).encode("latin-1")
                + body
            )
            async with asyncio.timeout(self.read_timeout_s):
                await writer.drain()
        except (ConnectionError, TimeoutError):
            log.debug("http_client_gone")
        except Exception:
            log.exception("http_request_failed")
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(self.read_timeout_s):
                    await writer.wait_closed()
