"""The service's configuration: one typed object, loaded once by the entry point.

Sources, strongest first: environment variables (``V2G_`` prefix, e.g. ``V2G_MQTT_URL``),
then an optional file (``--config path.toml|.env`` or ``V2G_CONFIG_FILE``), then the defaults.
Nothing here runs at import: :func:`load_settings` reads the environment when it is called.
Every validation failure is raised as :class:`SettingsError`, which names the offending keys.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from fleet.vehicle import Identifier
from v2g.mqtt import MqttSettings, Protocol, Topics
from v2g.storage.url import DEFAULT_DATABASE_URL, DatabaseUrl

ENV_PREFIX = "V2G_"
CONFIG_FILE_ENV = "V2G_CONFIG_FILE"
DEFAULT_MQTT_PORT = 1883

DispatcherName = Literal["equal", "smart", "lp"]
FallbackName = Literal["noop", "balanced", "probabilistic"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class SettingsError(ValueError):
    """Invalid configuration; ``problems`` maps each offending key to what is wrong with it."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        lines = [f"{key} ({ENV_PREFIX}{key.upper()}): {why}" for key, why in self.problems.items()]
        super().__init__("invalid settings: " + "; ".join(lines))

    @classmethod
    def from_validation(cls, exc: ValidationError) -> SettingsError:
        """The pydantic errors of ``exc``, keyed by setting name."""
        problems: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            key = str(error["loc"][0]) if error["loc"] else "<settings>"
            problems.setdefault(key, error["msg"])
        return cls(problems)


class MqttUrl:
    """The parts of ``mqtt://[user[:password]@]host[:port]`` (only plain ``mqtt`` is supported)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "mqtt":
            raise ValueError(f"scheme must be 'mqtt', not {parts.scheme!r}")
        if parts.path not in {"", "/"} or parts.query or parts.fragment:
            raise ValueError("must be mqtt://[user[:password]@]host[:port], nothing after it")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"bad port: {exc}") from exc
        if not parts.hostname:
            raise ValueError("host is missing")
        self.host: str = parts.hostname
        self.port: int = port if port is not None else DEFAULT_MQTT_PORT
        self.username = unquote(parts.username) if parts.username is not None else None
        self.password = unquote(parts.password) if parts.password is not None else None


class ServiceSettings(BaseSettings):
    """Everything ``v2g serve`` and ``v2g signal send`` need, with named defaults."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, case_sensitive=False
    )

    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883", repr=False)  # may hold a password
    mqtt_protocol: Protocol = Protocol.V5
    topic_prefix: str = "v2g"
    sites: Annotated[tuple[Identifier, ...], NoDecode] = ()
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=0, le=65535)] = 8080  # 0: any free port
    # the dispatch journal; None: none in-process (tests), `v2g serve` uses the embedded default
    database_url: str | None = Field(default=None, repr=False)  # may hold a password
    database_migrate: bool | None = None  # None: migrate SQLite at start, only check PostgreSQL
    mqtt_client_id: str | None = None  # None: derived from prefix and sites; "": clean session
    mqtt_session_expiry_s: Annotated[int, Field(ge=0, le=0xFFFFFFFF)] = 3600
    results_preload: Annotated[int, Field(ge=0)] = 100  # stored results kept in memory, per site
    # periodic allocation and scheduling of the served sites found in the database
    planning: bool = True
    planning_workers: Annotated[int, Field(ge=1, le=64)] = 1  # solver processes
    dispatcher: DispatcherName = "smart"
    fallback: FallbackName = "balanced"
    ack_timeout_s: Annotated[float, Field(gt=0.0, le=3600.0)] = 5.0
    max_fallback_rounds: Annotated[int, Field(ge=0, le=20)] = 2
    log_level: LogLevel = "INFO"
    log_json: bool | None = None  # None: JSON unless stderr is a terminal

    @field_validator("mqtt_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        MqttUrl(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is not None:
            DatabaseUrl.parse(value)
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        Topics(value)
        return value

    @field_validator("sites", mode="before")
    @classmethod
    def _split_sites(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(s.strip() for s in value.split(",") if s.strip())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    def mqtt_settings(self, **overrides: Any) -> MqttSettings:
        """The MQTT transport's settings (sites: the configured ones, or every site if none)."""
        url = MqttUrl(self.mqtt_url)
        values: dict[str, Any] = {
            "host": url.host,
            "port": url.port,
            "username": url.username,
            "password": url.password,
            "protocol": self.mqtt_protocol,
            "topic_prefix": self.topic_prefix,
            "sites": self.sites or None,
            "client_id": self.client_id(),
            "session_expiry_s": self.mqtt_session_expiry_s,
        }
        values.update(overrides)
        return MqttSettings(**values)

    def client_id(self) -> str | None:
        """The service's stable MQTT client id (its persistent session); None for a clean one.

        ``mqtt_client_id`` if set (the empty string: None), else ``v2g-service-<hash>`` of the
        topic prefix and the sites, so each replica (a set of sites) has its own session.
        """
        if self.mqtt_client_id is not None:
            return self.mqtt_client_id or None
        key = f"{self.topic_prefix}|{','.join(sorted(self.sites))}".encode()
        return f"v2g-service-{hashlib.sha256(key).hexdigest()[:10]}"

    def with_embedded_database(self) -> ServiceSettings:
        """These settings, with the embedded SQLite default when no database is set."""
        if self.database_url is not None:
            return self
        return self.model_copy(update={"database_url": DEFAULT_DATABASE_URL})

    def require_sites(self) -> tuple[str, ...]:
        """The configured sites; :class:`SettingsError` naming ``sites`` when there are none."""
        if not self.sites:
            raise SettingsError({"sites": "at least one site is required to serve"})
        return self.sites


def _file_values(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise SettingsError({"config_file": f"cannot read {path}: {exc.strerror}"}) from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError({"config_file": f"{path} is not valid TOML: {exc}"}) from exc
    section = data.get("v2g", data)  # either top-level keys or a [v2g] table
    if not isinstance(section, dict):
        raise SettingsError({"config_file": f"{path}: [v2g] must be a table"})
    return section


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> ServiceSettings:
    """Settings from the environment over ``config_file`` (or ``V2G_CONFIG_FILE``) over defaults.

    ``environ`` is only consulted for ``V2G_CONFIG_FILE`` and for which keys the environment
    sets; the values themselves are read by pydantic-settings from the process environment.
    """
    env = os.environ if environ is None else environ
    if config_file is None and env.get(CONFIG_FILE_ENV):
        config_file = Path(env[CONFIG_FILE_ENV])
    try:
        if config_file is None:
            return ServiceSettings()
        if config_file.suffix == ".toml":
            from_env = {k.upper() for k in env if k.upper().startswith(ENV_PREFIX)}
            values = {
                k: v
                for k, v in _file_values(config_file).items()
                if f"{ENV_PREFIX}{k.upper()}" not in from_env
            }
            return ServiceSettings(**values)
        if not config_file.is_file():
            raise SettingsError({"config_file": f"no such file: {config_file}"})
        return ServiceSettings(_env_file=config_file)
    except ValidationError as exc:
        raise SettingsError.from_validation(exc) from exc
