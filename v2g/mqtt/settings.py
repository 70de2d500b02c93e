"""The MQTT adapter's configuration: one typed object with named defaults."""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from fleet.vehicle import Identifier

Seconds = Annotated[float, Field(gt=0.0)]


class Protocol(enum.StrEnum):
    """MQTT protocol version; 5 carries expiry, response topic and correlation data."""

    V5 = "5"
    V311 = "3.1.1"


class MqttSettings(BaseModel):
    """Where the broker is, how to talk to it, and how hard to try."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    username: str | None = None
    password: SecretStr | None = None
    client_id: str | None = None  # set: a persistent session under this id; None: clean
    session_expiry_s: Annotated[int, Field(ge=0, le=0xFFFFFFFF)] = 3600  # with a client_id
    protocol: Protocol = Protocol.V5
    topic_prefix: str = "v2g"
    sites: tuple[Identifier, ...] | None = None  # None: every site ("+")
    keepalive_s: Annotated[int, Field(ge=5)] = 30
    connect_timeout_s: Seconds = 10.0
    operation_timeout_s: Seconds = 10.0  # subscribe / publish acknowledgement from the broker
    max_in_flight: Annotated[int, Field(ge=1, le=65535)] = 512
    reconnect_initial_s: Seconds = 0.5
    reconnect_max_s: Seconds = 30.0
    pending_presence_max: Annotated[int, Field(ge=0)] = 100_000

    @model_validator(mode="after")
    def _backoff(self) -> MqttSettings:
        if self.reconnect_initial_s > self.reconnect_max_s:
            raise ValueError("reconnect_initial_s must not exceed reconnect_max_s")
        return self
