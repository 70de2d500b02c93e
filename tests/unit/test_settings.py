"""Service settings: the broker URL, the sites list, files under the environment, named errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from v2g.mqtt import Protocol
from v2g.settings import ServiceSettings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No V2G_ variable of the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.upper().startswith("V2G_"):
            monkeypatch.delenv(key)


def test_defaults_point_at_a_local_broker() -> None:
    """Without configuration: mqtt://127.0.0.1:1883, MQTT 5, smart + balanced, HTTP on 8080."""
    s = load_settings(environ={})
    mqtt = s.mqtt_settings()
    assert (mqtt.host, mqtt.port, mqtt.username, mqtt.password) == ("127.0.0.1", 1883, None, None)
    assert mqtt.protocol is Protocol.V5
    assert (s.dispatcher, s.fallback, s.ack_timeout_s) == ("smart", "balanced", 5.0)
    assert (s.http_host, s.http_port, s.log_json) == ("127.0.0.1", 8080, None)


def test_mqtt_url_gives_credentials_host_and_port() -> None:
    """User, percent-decoded password, host and port come from the URL; the password is secret."""
    s = ServiceSettings(mqtt_url="mqtt://svc:p%40ss@broker.local:1884", sites=("10",))
    mqtt = s.mqtt_settings()
    assert (mqtt.host, mqtt.port, mqtt.username) == ("broker.local", 1884, "svc")
    assert mqtt.password is not None
    assert mqtt.password.get_secret_value() == "p@ss"
    assert mqtt.sites == ("10",)
    assert "p@ss" not in repr(s)
    assert "p%40ss" not in repr(s)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1883", "mqtt://:1883", "mqtt://host:99999", "mqtt://host/x"]
)
def test_bad_mqtt_url_is_named(url: str) -> None:
    """A URL that is not mqtt://[user[:pass]@]host[:port] is an error naming mqtt_url."""
    with pytest.raises(SettingsError) as exc:
        _load_with(mqtt_url=url)
    assert set(exc.value.problems) == {"mqtt_url"}
    assert "V2G_MQTT_URL" in str(exc.value)


def _load_with(**env: str) -> ServiceSettings:
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(f"V2G_{key.upper()}", value)
        return load_settings()


def test_sites_are_a_comma_separated_list_from_the_environment() -> None:
    """V2G_SITES="10, 11,12" gives three sites; blanks are dropped."""
    assert _load_with(sites="10, 11,12,").sites == ("10", "11", "12")


def test_bad_values_name_their_keys() -> None:
    """Every invalid value is reported under its own key."""
    with pytest.raises(SettingsError) as exc:
        _load_with(http_port="eighty", dispatcher="fastest", ack_timeout_s="0", sites="10,bad site")
    assert set(exc.value.problems) == {"http_port", "dispatcher", "ack_timeout_s", "sites"}


def test_serving_requires_sites() -> None:
    """No site configured: require_sites names the key."""
    with pytest.raises(SettingsError) as exc:
        load_settings(environ={}).require_sites()
    assert set(exc.value.problems) == {"sites"}


def test_toml_file_is_read_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TOML file ([v2g] table) sets values; an environment variable overrides the file."""
    path = tmp_path / "v2g.toml"
    path.write_text(
        '[v2g]\nsites = ["10", "11"]\nmqtt_protocol = "3.1.1"\nfallback = "noop"\n'
        'topic_prefix = "depot/v2g"\n'
    )
    monkeypatch.setenv("V2G_FALLBACK", "probabilistic")
    monkeypatch.setenv("V2G_CONFIG_FILE", str(path))
    s = load_settings()
    assert s.sites == ("10", "11")
    assert s.mqtt_protocol is Protocol.V311
    assert s.topic_prefix == "depot/v2g"
    assert s.fallback == "probabilistic"


def test_env_file_is_read(tmp_path: Path) -> None:
    """A .env file given as --config sets values with the V2G_ prefix."""
    path = tmp_path / "service.env"
    path.write_text("V2G_SITES=7,8\nV2G_LOG_LEVEL=debug\nV2G_LOG_JSON=true\n")
    s = load_settings(path, environ={})
    assert s.sites == ("7", "8")
    assert (s.log_level, s.log_json) == ("DEBUG", True)


def test_unknown_key_and_missing_file_are_named(tmp_path: Path) -> None:
    """A misspelt key in the file, or a file that is not there, is a named error."""
    path = tmp_path / "v2g.toml"
    path.write_text("ack_timeout = 3\n")
    with pytest.raises(SettingsError) as exc:
        load_settings(path, environ={})
    assert set(exc.value.problems) == {"ack_timeout"}
    with pytest.raises(SettingsError) as missing:
        load_settings(tmp_path / "absent.toml", environ={})
    assert set(missing.value.problems) == {"config_file"}
