"""The settings of the journal and of the persistent MQTT session."""

from __future__ import annotations

import pytest

from v2g.settings import ServiceSettings, SettingsError, load_settings
from v2g.storage import DEFAULT_DATABASE_URL


def test_the_default_client_id_is_stable_per_prefix_and_sites() -> None:
    """The service's client id derives from prefix and sites (order aside), so a restart
    finds its session and two replicas with other sites never share one."""
    a = ServiceSettings(topic_prefix="v2g", sites=("10", "11"))
    assert a.client_id() == ServiceSettings(topic_prefix="v2g", sites=("11", "10")).client_id()
    assert (a.client_id() or "").startswith("v2g-service-")
    assert a.client_id() != ServiceSettings(topic_prefix="v2g", sites=("12",)).client_id()
    assert a.client_id() != ServiceSettings(topic_prefix="other", sites=("10", "11")).client_id()


def test_the_client_id_can_be_set_or_turned_off() -> None:
    """mqtt_client_id overrides the derived id; the empty string means a clean session."""
    assert ServiceSettings(sites=("10",), mqtt_client_id="svc-a").client_id() == "svc-a"
    assert ServiceSettings(sites=("10",), mqtt_client_id="").client_id() is None


def test_mqtt_settings_carry_the_session() -> None:
    """The transport gets the client id and the session expiry."""
    s = ServiceSettings(sites=("10",), mqtt_client_id="svc-a", mqtt_session_expiry_s=120)
    mqtt = s.mqtt_settings()
    assert (mqtt.client_id, mqtt.session_expiry_s) == ("svc-a", 120)


def test_serve_falls_back_to_the_embedded_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """No V2G_DATABASE_URL: `v2g serve` journals in sqlite:///v2g.db; a URL set is kept."""
    monkeypatch.delenv("V2G_DATABASE_URL", raising=False)
    assert load_settings().database_url is None
    assert load_settings().with_embedded_database().database_url == DEFAULT_DATABASE_URL
    monkeypatch.setenv("V2G_DATABASE_URL", "postgresql://db.example/v2g")
    assert load_settings().with_embedded_database().database_url == "postgresql://db.example/v2g"


def test_a_bad_database_url_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A URL of an unknown scheme is refused when the settings load, naming the key."""
    monkeypatch.setenv("V2G_DATABASE_URL", "mysql://db/v2g")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "database_url" in caught.value.problems
