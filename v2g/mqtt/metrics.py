"""The MQTT adapter's metric names (declared in :mod:`metrics.catalog`)."""

from __future__ import annotations

from metrics.catalog import (
    MQTT_CONNECTED as CONNECTED,
)
from metrics.catalog import (
    MQTT_MESSAGES_RECEIVED as MESSAGES_RECEIVED,
)
from metrics.catalog import (
    MQTT_PAYLOADS_REJECTED as PAYLOADS_REJECTED,
)
from metrics.catalog import (
    MQTT_PUBLISH_FAILURES as PUBLISH_FAILURES,
)
from metrics.catalog import (
    MQTT_RECONNECTS as RECONNECTS,
)
from metrics.catalog import (
    MQTT_UNKNOWN_VEHICLES as UNKNOWN_VEHICLES,
)

__all__ = [
    "CONNECTED",
    "MESSAGES_RECEIVED",
    "PAYLOADS_REJECTED",
    "PUBLISH_FAILURES",
    "RECONNECTS",
    "UNKNOWN_VEHICLES",
]
