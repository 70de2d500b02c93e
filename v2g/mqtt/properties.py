"""MQTT 5 properties at the cost of the bytes they are, not of paho's generic machinery.

paho's :class:`~paho.mqtt.properties.Properties` builds, in its constructor, a table of every
property name and a table of every property's type and packets: about 60 dicts, lists and
tuples for each instance, for each message sent or received. Setting an attribute scans the
names twice; packing scans them all. At 10k orders and 10k acks per dispatch that was 12-20 %
of both the service's and a simulated fleet's CPU, mostly in allocation and the collections it
triggers (``benchmarks/dispatch_mqtt.py``).

Two remedies:

- :class:`PublishProperties`: the properties the service and the simulated gateways put on
  their own messages (message expiry, response topic, correlation data), encoded once at
  construction (MQTT 5.0, section 2.2.2) and handed to paho, which only calls ``pack()``.
  It still reads like a paho ``Properties`` (attributes, ``str``, ``json``).
- :func:`share_property_tables`: paho's constructor, which every *received* publication goes
  through, made to share one copy of those tables (paho only ever reads them). It checks that
  paho's constructor still builds exactly those four attributes and leaves it alone otherwise.
"""

from __future__ import annotations

import struct
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

# property identifiers (MQTT 5.0, 2.2.2.2)
MESSAGE_EXPIRY_INTERVAL = 0x02
RESPONSE_TOPIC = 0x08
CORRELATION_DATA = 0x09

_TABLES = ("types", "names", "properties")
_PROTOTYPE = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]


_original_init = Properties.__init__


def _shared_init(self: Properties, packetType: int) -> None:  # noqa: N803 (paho's name)
    """paho's constructor without building the tables: the prototype's are shared."""
    state = self.__dict__
    state["packetType"] = packetType
    for table in _TABLES:
        state[table] = getattr(_PROTOTYPE, table)


def _variable_int(value: int) -> bytes:
    """A Variable Byte Integer (MQTT 5.0, 1.5.5)."""
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def _binary(value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise ValueError(f"MQTT binary data is at most 65,535 bytes, got {len(value)}")
    return struct.pack("!H", len(value)) + value


class PublishProperties(Properties):
    """Immutable PUBLISH properties, packed once: what an order or an ack carries."""

    def __init__(
        self,
        *,
        message_expiry_s: int | None = None,
        response_topic: str | None = None,
        correlation_data: bytes | None = None,
    ) -> None:
        # not paho's constructor, which builds the tables per instance: the shared ones
        _shared_init(self, PacketTypes.PUBLISH)
        state = self.__dict__
        body = b""
        if message_expiry_s is not None:
            if not 0 <= message_expiry_s <= 0xFFFFFFFF:
                raise ValueError(f"message expiry out of range: {message_expiry_s}")
            state["MessageExpiryInterval"] = message_expiry_s
            body += bytes((MESSAGE_EXPIRY_INTERVAL,)) + struct.pack("!I", message_expiry_s)
        if response_topic is not None:
            state["ResponseTopic"] = response_topic
            body += bytes((RESPONSE_TOPIC,)) + _binary(response_topic.encode())
        if correlation_data is not None:
            state["CorrelationData"] = correlation_data
            body += bytes((CORRELATION_DATA,)) + _binary(correlation_data)
        state["_packed"] = _variable_int(len(body)) + body

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"PublishProperties are immutable (setting {name!r})")

    def pack(self) -> bytes:
        """The encoded properties, length first (what paho writes after the packet id)."""
        packed: bytes = self.__dict__["_packed"]
        return packed


def share_property_tables() -> bool:
    """Make every new paho ``Properties`` share one copy of its read-only tables.

    Idempotent. Returns whether the constructor is the shared one; ``False`` when paho's own
    constructor no longer builds exactly ``packetType`` and the three tables (a paho release
    that changed it): then it is left as paho wrote it.
    """
    if Properties.__init__ is _shared_init:
        return True
    if Properties.__init__ is not _original_init:
        return False
    if set(vars(_PROTOTYPE)) != {"packetType", *_TABLES}:
        return False
    Properties.__init__ = _shared_init  # type: ignore[method-assign]
    return True


def restore_property_tables() -> None:
    """Give paho's ``Properties`` its own constructor back (tests)."""
    Properties.__init__ = _original_init  # type: ignore[method-assign]
