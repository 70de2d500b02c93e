"""Publish properties packed once, and paho's Properties with shared tables: same bytes as paho."""

from __future__ import annotations

from collections.abc import Iterator

import paho.mqtt.properties as paho_properties
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import MQTTException, Properties

from v2g.mqtt.properties import (
    PublishProperties,
    restore_property_tables,
    share_property_tables,
)


def _paho(**values: object) -> Properties:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    for name, value in values.items():
        setattr(props, name, value)
    return props


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (PublishProperties(), {}),
        (PublishProperties(message_expiry_s=30), {"MessageExpiryInterval": 30}),
        (PublishProperties(message_expiry_s=0xFFFFFFFF), {"MessageExpiryInterval": 0xFFFFFFFF}),
        (
            PublishProperties(response_topic="v2g/10/vehicles/ev1/ack"),
            {"ResponseTopic": "v2g/10/vehicles/ev1/ack"},
        ),
        (
            PublishProperties(correlation_data=b"\x00\xff" * 40),
            {"CorrelationData": b"\x00\xff" * 40},
        ),
        (
            PublishProperties(
                message_expiry_s=3600,
                response_topic="v2g/10/vehicles/évé/ack",  # non-ASCII: length in bytes
                correlation_data=b"0123456789abcdef" * 10,  # a properties length above 127
            ),
            {
                "MessageExpiryInterval": 3600,
                "ResponseTopic": "v2g/10/vehicles/évé/ack",
                "CorrelationData": b"0123456789abcdef" * 10,
            },
        ),
    ],
)
def test_packs_the_bytes_paho_packs(ours: PublishProperties, theirs: dict[str, object]) -> None:
    """Byte for byte what paho's own Properties packs, and what paho unpacks back."""
    assert ours.pack() == _paho(**theirs).pack()  # type: ignore[no-untyped-call]
    back = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    back.unpack(ours.pack())  # type: ignore[no-untyped-call]
    assert back.json() == ours.json() == _paho(**theirs).json()  # type: ignore[no-untyped-call]


def test_reads_like_paho_properties_and_cannot_change() -> None:
    """Attributes, ``str`` and ``isEmpty`` as paho's; setting anything afterwards is refused."""
    props = PublishProperties(response_topic="a/b", correlation_data=b"o-1")
    assert props.ResponseTopic == "a/b"
    assert props.CorrelationData == b"o-1"
    assert str(props) == str(_paho(ResponseTopic="a/b", CorrelationData=b"o-1"))
    assert not props.isEmpty()  # type: ignore[no-untyped-call]
    assert PublishProperties().isEmpty()  # type: ignore[no-untyped-call]
    with pytest.raises(AttributeError, match="immutable"):
        props.CorrelationData = b"o-2"


def test_out_of_range_values_are_refused() -> None:
    """Values MQTT cannot carry fail at construction, not on the wire."""
    with pytest.raises(ValueError, match="expiry"):
        PublishProperties(message_expiry_s=-1)
    with pytest.raises(ValueError, match="65,535"):
        PublishProperties(correlation_data=b"x" * 70_000)


@pytest.fixture
def shared() -> Iterator[None]:
    assert share_property_tables()
    yield
    restore_property_tables()


@pytest.mark.usefixtures("shared")
def test_shared_tables_behave_as_paho_own() -> None:
    """With shared tables paho's Properties still validates, packs and unpacks the same."""
    props = _paho(MessageExpiryInterval=5, ResponseTopic="r/t", CorrelationData=b"c")
    props.UserProperty = ("k", "v")
    props.UserProperty = ("k2", "v2")  # allowed more than once: appended
    packed = props.pack()  # type: ignore[no-untyped-call]
    restore_property_tables()
    reference = _paho(MessageExpiryInterval=5, ResponseTopic="r/t", CorrelationData=b"c")
    reference.UserProperty = ("k", "v")
    reference.UserProperty = ("k2", "v2")
    assert packed == reference.pack()  # type: ignore[no-untyped-call]
    assert share_property_tables()
    back = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    back.unpack(packed)  # type: ignore[no-untyped-call]
    assert back.json() == reference.json()  # type: ignore[no-untyped-call]
    with pytest.raises(MQTTException, match="does not apply"):
        props.SessionExpiryInterval = 10  # a CONNECT property on a PUBLISH
    connect = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    connect.SessionExpiryInterval = 10
    assert connect.packetType == PacketTypes.CONNECT
    assert Properties(PacketTypes.PUBLISH).names is connect.names  # type: ignore[no-untyped-call]


def test_sharing_is_idempotent_and_leaves_a_changed_paho_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Installed twice is installed once; a constructor paho changed is not replaced."""
    try:
        assert share_property_tables()
        assert share_property_tables()
    finally:
        restore_property_tables()

    def other_init(self: Properties, packetType: int) -> None:  # noqa: N803
        object.__setattr__(self, "packetType", packetType)

    monkeypatch.setattr(paho_properties.Properties, "__init__", other_init)
    assert not share_property_tables()
    assert paho_properties.Properties.__init__ is other_init
