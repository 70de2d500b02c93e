"""MQTT adapter: the wire contract's topics and payloads, the transport and the order publisher."""

from v2g.mqtt.errors import MqttTransportError, NotConnectedError, PayloadError, TopicError
from v2g.mqtt.payloads import (
    AckPayload,
    OnlinePayload,
    OrderPayload,
    ResultPayload,
    SchedulePayload,
    ScheduleSlot,
    SignalPayload,
    StatusPayload,
)
from v2g.mqtt.publisher import MqttPublisher
from v2g.mqtt.settings import MqttSettings, Protocol
from v2g.mqtt.topics import ParsedTopic, TopicKind, Topics
from v2g.mqtt.transport import MqttTransport

__all__ = [
    "AckPayload",
    "MqttPublisher",
    "MqttSettings",
    "MqttTransport",
    "MqttTransportError",
    "NotConnectedError",
    "OnlinePayload",
    "OrderPayload",
    "ParsedTopic",
    "PayloadError",
    "Protocol",
    "ResultPayload",
    "SchedulePayload",
    "ScheduleSlot",
    "SignalPayload",
    "StatusPayload",
    "TopicError",
    "TopicKind",
    "Topics",
]
