"""The service's broker client for one connection: protocol, credentials and session.

A ``client_id`` makes the session persistent, so the broker keeps the service's subscriptions
and queues its QoS 1 messages while it is away: MQTT 5 connects with clean start off and a
``SessionExpiryInterval`` of ``session_expiry_s`` (the broker forgets the session that long
after the service left); MQTT 3.1.1 with clean session off (the broker's own settings, e.g.
mosquitto's ``persistent_client_expiration``, bound it). Without one, every connection is clean.
"""

from __future__ import annotations

import aiomqtt
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from v2g.mqtt.properties import share_property_tables
from v2g.mqtt.settings import MqttSettings, Protocol


def client_for(s: MqttSettings) -> aiomqtt.Client:
    """A new (not yet connected) client for one connection to the broker of ``s``."""
    share_property_tables()  # every message received builds paho Properties
    v5 = s.protocol is Protocol.V5
    persistent = s.client_id is not None
    connect: Properties | None = None
    if v5 and persistent:
        connect = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        connect.SessionExpiryInterval = s.session_expiry_s
    client = aiomqtt.Client(
        s.host,
        s.port,
        username=s.username,
        password=s.password.get_secret_value() if s.password is not None else None,
        identifier=s.client_id,
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        clean_session=None if v5 else not persistent,
        # a new client per connection: "first only" would be a clean start every time
        clean_start=False if v5 and persistent else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
        properties=connect,
        keepalive=s.keepalive_s,
        timeout=s.operation_timeout_s,
        # 0: no bound inside paho. The publisher bounds what is in flight itself (and waits
        # for each PUBACK), and paho's own bound rescans its outgoing queue on every PUBACK
        max_inflight_messages=0,
    )
    # the publisher bounds its own concurrency; only warn well beyond that bound
    client.pending_calls_threshold = s.max_in_flight + 64
    return client
