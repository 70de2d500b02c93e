"""The probe server over real sockets: readiness follows the broker, bad requests are bounded."""

from __future__ import annotations

import asyncio

from v2g.http import HealthServer


async def exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` raw and read the whole answer."""
    async with asyncio.timeout(2.0):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        await writer.drain()
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
    return answer


async def test_readyz_is_503_until_connected_and_metrics_carry_their_content_type() -> None:
    """/readyz answers 503 while not connected, 200 once connected; /metrics has its type."""
    connected = False
    server = HealthServer(
        "127.0.0.1",
        0,
        ready=lambda: connected,
        metrics=lambda: (b"v2g_x 1\n", "text/plain; version=0.0.4"),
    )
    async with server:
        get = b"GET /readyz HTTP/1.1\r\n\r\n"
        assert (await exchange(server.port, get)).startswith(b"HTTP/1.1 503 ")
        connected = True
        assert (await exchange(server.port, get)).startswith(b"HTTP/1.1 200 ")
        metrics = await exchange(server.port, b"GET /metrics HTTP/1.1\r\n\r\n")
        assert b"Content-Type: text/plain; version=0.0.4\r\n" in metrics
        assert metrics.endswith(b"\r\n\r\nv2g_x 1\n")


async def test_garbage_slow_and_oversized_requests_get_400() -> None:
    """A malformed request line, a silent client or a huge head is answered 400, not hung on."""
    server = HealthServer(
        "127.0.0.1",
        0,
        ready=lambda: True,
        metrics=lambda: (b"", "text/plain"),
        read_timeout_s=0.2,
        max_head_bytes=1024,
    )
    async with server:
        assert (await exchange(server.port, b"hello\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
        assert (await exchange(server.port, b"GET /healthz")).startswith(b"HTTP/1.1 400 ")
        huge = b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 4096 + b"\r\n\r\n"
        assert (await exchange(server.port, huge)).startswith(b"HTTP/1.1 400 ")
        post = await exchange(server.port, b"POST /healthz HTTP/1.1\r\n\r\n")
        assert post.startswith(b"HTTP/1.1 405 ")
