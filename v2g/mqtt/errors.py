"""Errors of the MQTT adapter.

MqttTransportError         base of everything the adapter raises
 ├── TopicError            a topic does not follow the wire contract (carries ``topic``)
 ├── PayloadError          a payload is not valid JSON or fails validation (``topic``, ``kind``)
 └── NotConnectedError     the broker is not reachable (after the connect timeout)

Publishing orders raises :class:`dispatch.errors.PublishError`, the port's own error.
"""

from __future__ import annotations


class MqttTransportError(Exception):
    """Something went wrong at the MQTT edge."""


class TopicError(MqttTransportError, ValueError):
    """A topic outside the wire contract."""

    def __init__(self, topic: str, why: str) -> None:
        super().__init__(f"topic {topic!r}: {why}")
        self.topic = topic
        self.why = why


class PayloadError(MqttTransportError, ValueError):
    """A payload that is not JSON or does not validate; ``detail`` says why."""

    def __init__(self, topic: str, kind: str, detail: str) -> None:
        super().__init__(f"bad {kind} payload on {topic!r}: {detail}")
        self.topic = topic
        self.kind = kind
        self.detail = detail


class NotConnectedError(MqttTransportError, ConnectionError):
    """The broker could not be reached in time."""
