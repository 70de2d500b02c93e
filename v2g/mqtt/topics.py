"""Topic names of the wire contract, built and parsed under a configurable prefix.

``{prefix}/{site}/vehicles/{vid}/{status|online|order|ack|schedule}``,
``{prefix}/{site}/signals`` and ``{prefix}/{site}/signals/{signal_id}/result``.
Identifiers must be plain topic levels (no ``/``, ``+``, ``#`` or whitespace).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from v2g.mqtt.errors import TopicError

_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_PREFIX_LEVEL = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class TopicKind(enum.StrEnum):
    """What a topic carries."""

    STATUS = "status"
    ONLINE = "online"
    ORDER = "order"
    ACK = "ack"
    SCHEDULE = "schedule"
    SIGNAL = "signal"
    RESULT = "result"


VEHICLE_KINDS = frozenset(
    {TopicKind.STATUS, TopicKind.ONLINE, TopicKind.ORDER, TopicKind.ACK, TopicKind.SCHEDULE}
)
INBOUND_KINDS = (TopicKind.STATUS, TopicKind.ONLINE, TopicKind.ACK, TopicKind.SIGNAL)


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    """A received topic taken apart: its kind, site and vehicle or signal id."""

    kind: TopicKind
    site_id: str
    vehicle_id: str | None = None
    signal_id: str | None = None


def _check_id(topic: str, what: str, value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise TopicError(topic, f"{what} {value!r} is not a valid identifier")
    return value


@dataclass(frozen=True, slots=True)
class Topics:
    """Builds and parses the contract's topics under ``prefix`` (one or more levels)."""

    prefix: str = "v2g"

    def __post_init__(self) -> None:
        if not all(_PREFIX_LEVEL.match(level) for level in self.prefix.split("/")):
            raise ValueError(f"invalid topic prefix {self.prefix!r}")

    def _vehicle(self, site_id: str, vehicle_id: str, kind: TopicKind) -> str:
        topic = f"{self.prefix}/{site_id}/vehicles/{vehicle_id}/{kind.value}"
        _check_id(topic, "site", site_id)
        _check_id(topic, "vehicle", vehicle_id)
        return topic

    def status(self, site_id: str, vehicle_id: str) -> str:
        """Telemetry of one vehicle (gateway to service, retained)."""
        return self._vehicle(site_id, vehicle_id, TopicKind.STATUS)

    def online(self, site_id: str, vehicle_id: str) -> str:
        """Presence of one vehicle (retained, also the gateway's Last Will)."""
        return self._vehicle(site_id, vehicle_id, TopicKind.ONLINE)

    def order(self, site_id: str, vehicle_id: str) -> str:
        """Orders to one vehicle (service to gateway)."""
        return self._vehicle(site_id, vehicle_id, TopicKind.ORDER)

    def ack(self, site_id: str, vehicle_id: str) -> str:
        """Acknowledgements from one vehicle (also the orders' MQTT 5 response topic)."""
        return self._vehicle(site_id, vehicle_id, TopicKind.ACK)

    def schedule(self, site_id: str, vehicle_id: str) -> str:
        """The charge plan of one vehicle (service to gateway, retained)."""
        return self._vehicle(site_id, vehicle_id, TopicKind.SCHEDULE)

    def signals(self, site_id: str) -> str:
        """Flexibility signals for one site (operator to service)."""
        topic = f"{self.prefix}/{site_id}/signals"
        _check_id(topic, "site", site_id)
        return topic

    def result(self, site_id: str, signal_id: str) -> str:
        """The result of one signal (service to operator, retained)."""
        topic = f"{self.prefix}/{site_id}/signals/{signal_id}/result"
        _check_id(topic, "site", site_id)
        _check_id(topic, "signal", signal_id)
        return topic

    def subscriptions(self, sites: tuple[str, ...] | None = None) -> list[str]:
        """The filters the service subscribes to: every site (``+``) or only ``sites``."""
        levels = sites if sites is not None else ("+",)
        out: list[str] = []
        for site in levels:
            if site != "+":
                _check_id(site, "site", site)
            base = f"{self.prefix}/{site}"
            out += [f"{base}/vehicles/+/{k.value}" for k in INBOUND_KINDS[:3]]
            out.append(f"{base}/signals")
        return out

    def parse(self, topic: str) -> ParsedTopic:
        """Take a received topic apart; raises :class:`TopicError` outside the contract."""
        head = self.prefix + "/"
        if not topic.startswith(head):
            raise TopicError(topic, f"does not start with prefix {self.prefix!r}")
        levels = topic[len(head) :].split("/")
        site = _check_id(topic, "site", levels[0])
        rest = levels[1:]
        if rest == ["signals"]:
            return ParsedTopic(TopicKind.SIGNAL, site)
        if len(rest) == 3 and rest[0] == "signals" and rest[2] == "result":
            return ParsedTopic(
                TopicKind.RESULT, site, signal_id=_check_id(topic, "signal", rest[1])
            )
        if len(rest) == 3 and rest[0] == "vehicles":
            try:
                kind = TopicKind(rest[2])
            except ValueError:
                raise TopicError(topic, f"unknown vehicle topic {rest[2]!r}") from None
            if kind in VEHICLE_KINDS:
                return ParsedTopic(kind, site, vehicle_id=_check_id(topic, "vehicle", rest[1]))
        raise TopicError(topic, "not a topic of the wire contract")
