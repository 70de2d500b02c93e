"""An MQTT broker inside the process, for the demo on a machine with no broker installed.

``async with EmbeddedBroker() as broker:`` serves MQTT 3.1.1 on ``broker.host:broker.port``
(a free localhost port) with anonymous access, until the block exits. It is amqtt, the one
broker installable with pip: MQTT 3.1.1 only and about 1.4k messages/s, which suits the demo
but not tests of MQTT 5 behaviour or benchmarks (use mosquitto there).
"""

from __future__ import annotations

import logging
import socket
from types import TracebackType
from typing import Any, Self

from amqtt.broker import Broker  # type: ignore[import-untyped]  # amqtt ships no type hints

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedBroker:
    """An async context manager running an amqtt broker on ``host:port`` (default: a free port)."""

    def __init__(self, host: str = HOST, port: int | None = None) -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        self._broker: Any = None

    @property
    def url(self) -> str:
        """The broker's ``mqtt://host:port``."""
        return f"mqtt://{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        """Start listening."""
        # amqtt logs every connection and disconnection at INFO; the demo only wants problems
        logging.getLogger("amqtt").setLevel(logging.ERROR)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        self._broker = Broker(config)
        await self._broker.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Disconnect every client and stop listening."""
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
