"""Wire contract without a broker: topics built and parsed, payloads validated and converted."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch import Ack, AckStatus, DispatchResult, DispatchStatus, Order, Outcome, VehicleOutcome
from fleet import Direction
from tests.support import T0, vehicle
from v2g.mqtt import (
    AckPayload,
    OnlinePayload,
    OrderPayload,
    ParsedTopic,
    PayloadError,
    ResultPayload,
    SignalPayload,
    StatusPayload,
    TopicError,
    TopicKind,
    Topics,
)
from v2g.mqtt.payloads import check_id_matches, decode
from v2g.mqtt.publisher import expiry_interval_s
from v2g.mqtt.transport import backoff_delays

TOPICS = Topics()


def _status(**kw: Any) -> bytes:
    body: dict[str, Any] = {
        "vehicle_id": "ev042",
        "ts": "2026-11-21T08:00:00Z",
        "soc_pct": 64.5,
        "battery_kwh": 75.0,
        "plugged_in": True,
        "max_charge_kw": 11.0,
        "max_discharge_kw": 10.0,
        "availability": 0.95,
        "degradation": 0.02,
    }
    body.update(kw)
    return json.dumps(body).encode()


# -- topics ----------------------------------------------------------------------------------


def test_topics_follow_the_wire_contract() -> None:
    """Every topic of the contract is built under the default ``v2g`` prefix."""
    assert TOPICS.status("10", "ev042") == "v2g/10/vehicles/ev042/status"
    assert TOPICS.online("10", "ev042") == "v2g/10/vehicles/ev042/online"
    assert TOPICS.order("10", "ev042") == "v2g/10/vehicles/ev042/order"
    assert TOPICS.ack("10", "ev042") == "v2g/10/vehicles/ev042/ack"
    assert TOPICS.schedule("10", "ev042") == "v2g/10/vehicles/ev042/schedule"
    assert TOPICS.signals("10") == "v2g/10/signals"
    assert TOPICS.result("10", "tso-1") == "v2g/10/signals/tso-1/result"


def test_topics_round_trip_through_parse_with_a_custom_prefix() -> None:
    """A multi-level prefix builds topics that parse back to their kind, site and ids."""
    topics = Topics("acme/v2g")
    assert topics.parse(topics.ack("10", "ev1")) == ParsedTopic(TopicKind.ACK, "10", "ev1")
    assert topics.parse(topics.signals("10")) == ParsedTopic(TopicKind.SIGNAL, "10")
    assert topics.parse(topics.result("10", "s1")) == ParsedTopic(
        TopicKind.RESULT, "10", signal_id="s1"
    )


@pytest.mark.parametrize(
    "topic",
    [
        "other/10/vehicles/ev1/status",
        "v2g/10/vehicles/ev1/colour",
        "v2g/10/vehicles/ev1",
        "v2g/10/vehicles/ev1/status/extra",
        "v2g/10/signals/s1",
        "v2g/1 0/signals",
        "v2g//signals",
        "v2g/10/things",
    ],
)
def test_topics_outside_the_contract_are_rejected(topic: str) -> None:
    """A topic with another prefix, an unknown kind, bad levels or bad ids is a TopicError."""
    with pytest.raises(TopicError) as err:
        TOPICS.parse(topic)
    assert err.value.topic == topic


def test_identifiers_with_wildcards_cannot_build_topics() -> None:
    """Wildcards or separators in ids and prefixes are refused when building topics."""
    with pytest.raises(TopicError):
        TOPICS.order("10", "ev+1")
    with pytest.raises(TopicError):
        TOPICS.signals("1/0")
    with pytest.raises(ValueError, match="prefix"):
        Topics("v2g/#")


def test_subscriptions_cover_inbound_topics_for_all_or_some_sites() -> None:
    """The service subscribes to status, online, ack and signals, per site or with ``+``."""
    assert TOPICS.subscriptions() == [
        "v2g/+/vehicles/+/status",
        "v2g/+/vehicles/+/online",
        "v2g/+/vehicles/+/ack",
        "v2g/+/signals",
    ]
    assert len(TOPICS.subscriptions(("10", "11"))) == 8


# -- inbound payloads ------------------------------------------------------------------------


def test_status_becomes_a_vehicle_keeping_previous_soc_limits() -> None:
    """A valid status builds a Vehicle at the topic's site; SoC limits carry over."""
    payload = decode(StatusPayload, "t", "status", _status())
    previous = vehicle("ev042", min_soc_pct=40.0)
    v = payload.to_vehicle("10", "ev042", online=False, previous=previous)
    assert v.soc_pct == 64.5
    assert v.min_soc_pct == 40.0
    assert not v.online
    assert v.updated_at == datetime(2026, 11, 21, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"soc_pct": 101.0}, "soc_pct"),
        ({"availability": 1.5}, "availability"),
        ({"battery_kwh": 0.0}, "battery_kwh"),
        ({"ts": "2026-11-21T08:00:00"}, "ts"),
        ({"max_discharge_kw": -1.0}, "max_discharge_kw"),
    ],
)
def test_invalid_status_is_a_payload_error_naming_topic_and_field(
    change: dict[str, Any], field: str
) -> None:
    """Out-of-range values and naive timestamps fail with the topic and field in the error."""
    with pytest.raises(PayloadError) as err:
        decode(StatusPayload, "v2g/10/vehicles/ev042/status", "status", _status(**change))
    assert err.value.topic == "v2g/10/vehicles/ev042/status"
    assert field in err.value.detail


def test_non_json_payload_is_a_payload_error() -> None:
    """Bytes that are not JSON are rejected like invalid fields."""
    with pytest.raises(PayloadError, match="bad online payload"):
        decode(OnlinePayload, "t", "online", b"\xff{")


def test_payload_ids_must_match_their_topic() -> None:
    """A vehicle id in the payload that differs from the topic's is refused."""
    check_id_matches("t", "ack", "vehicle_id", None, "ev1")
    check_id_matches("t", "ack", "vehicle_id", "ev1", "ev1")
    with pytest.raises(PayloadError, match="does not match"):
        check_id_matches("t", "ack", "vehicle_id", "ev2", "ev1")


def test_ack_payload_becomes_an_ack_for_the_topic_vehicle() -> None:
    """An ack without vehicle id takes it from the topic; accepted_kw defaults to 0."""
    ack = decode(AckPayload, "t", "ack", b'{"order_id": "o1", "status": "rejected"}')
    assert ack.to_ack("ev1") == Ack("o1", "ev1", AckStatus.REJECTED, 0.0)
    with pytest.raises(PayloadError):
        decode(AckPayload, "t", "ack", b'{"order_id": "o1", "status": "ok"}')
    with pytest.raises(PayloadError):
        decode(
            AckPayload, "t", "ack", b'{"order_id": "o1", "status": "accepted", "accepted_kw": -1}'
        )


def test_signal_payload_takes_its_site_from_the_topic() -> None:
    """The design's signal example becomes a FlexibilitySignal for the topic's site."""
    raw = (
        b'{"signal_id": "tso-2026-11-21-0042", "type": "peak_shaving", "direction": "discharge",'
        b' "power_kw": 500.0, "start": "2026-11-21T17:00:00Z", "duration_s": 1800}'
    )
    sig = decode(SignalPayload, "t", "signal", raw).to_signal("10")
    assert sig.site_id == "10"
    assert sig.end == datetime(2026, 11, 21, 17, 30, tzinfo=UTC)
    with pytest.raises(PayloadError, match="power_kw"):
        decode(SignalPayload, "t", "signal", raw.replace(b"500.0", b"0"))


# -- outbound payloads -----------------------------------------------------------------------


def test_order_payload_carries_the_contract_fields_only() -> None:
    """An order's wire form has the contract's fields only (site and vehicle: in the topic)."""
    order = Order(
        "o1", "s1", "10", "ev1", Direction.DISCHARGE, 7.4, T0, T0 + timedelta(hours=1), T0
    )
    body = json.loads(OrderPayload.from_order(order).model_dump_json())
    assert set(body) == {
        "order_id",
        "signal_id",
        "direction",
        "power_kw",
        "start",
        "end",
        "expires_at",
    }
    assert body["direction"] == "discharge"
    assert OrderPayload.model_validate(body).power_kw == 7.4


def test_result_payload_lists_vehicle_outcomes_fallback_and_rounds() -> None:
    """A dispatch result's wire form keeps per-vehicle outcomes, fallback and rounds."""
    result = DispatchResult(
        signal_id="s1",
        site_id="10",
        status=DispatchStatus.PARTIAL,
        requested_kw=20.0,
        allocated_kw=20.0,
        acknowledged_kw=15.0,
        dispatcher="smart",
        fallback="balanced",
        rounds=2,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=2),
        vehicles=(VehicleOutcome("ev1", 10.0, 5.0, Outcome.PARTIAL, 2),),
    )
    body = json.loads(ResultPayload.from_result(result).model_dump_json())
    assert body["fallback"] == "balanced"
    assert body["rounds"] == 2
    assert body["duration_s"] == 2.0
    assert body["vehicles"] == [
        {
            "vehicle_id": "ev1",
            "ordered_kw": 10.0,
            "acknowledged_kw": 5.0,
            "outcome": "partial",
            "orders": 2,
        }
    ]


# -- timing helpers --------------------------------------------------------------------------


def test_expiry_interval_is_whole_seconds_and_at_least_one() -> None:
    """Orders expire no earlier than ``expires_at`` and never with a zero interval."""
    assert expiry_interval_s(0.3) == 1
    assert expiry_interval_s(-5.0) == 1
    assert expiry_interval_s(34.2) == 35


def test_backoff_is_jittered_exponential_and_capped() -> None:
    """Reconnect delays grow as initial * 2**n up to the cap, jittered below that bound."""
    delays = backoff_delays(0.5, 4.0, random.Random(1))
    drawn = [next(delays) for _ in range(8)]
    bounds = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(0.0 <= d <= b for d, b in zip(drawn, bounds, strict=True))
    assert len(set(drawn)) == len(drawn)
