"""The compose stack's files: services wired together, scraping and dashboards that match."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from metrics.catalog import CATALOG, MetricKind
from v2g.cli import main

ROOT = Path(__file__).resolve().parents[2]
SERVICES = (
    "mosquitto",
    "postgres",
    "migrate",
    "seed",
    "v2g",
    "simulator",
    "prometheus",
    "grafana",
)
_METRIC = re.compile(r"\bv2g_[a-z0-9_]+\b")
_HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def _yaml(path: str) -> Any:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The parsed docker-compose.yml."""
    data: dict[str, Any] = _yaml("docker-compose.yml")
    return data


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    """The parsed Grafana dashboard."""
    data: dict[str, Any] = json.loads((ROOT / "grafana/dashboards/v2g.json").read_text())
    return data


def metric_name(token: str) -> str:
    """The catalog name behind a series name (histogram ``_bucket``/``_count``/``_sum``)."""
    for suffix in _HISTOGRAM_SUFFIXES:
        base = token.removesuffix(suffix)
        if base != token and base in CATALOG and CATALOG[base].kind is MetricKind.HISTOGRAM:
            return base
    return token


def test_compose_names_every_service(compose: dict[str, Any]) -> None:
    """The stack has the broker, database, service, simulator, Prometheus and Grafana."""
    assert set(SERVICES) <= set(compose["services"])


def test_broker_uses_the_project_config(compose: dict[str, Any]) -> None:
    """mosquitto runs eclipse-mosquitto 2 with ./mosquitto mounted and a healthcheck."""
    broker = compose["services"]["mosquitto"]
    assert broker["image"] == "eclipse-mosquitto:2"
    assert any(v.startswith("./mosquitto:/mosquitto/config") for v in broker["volumes"])
    assert "healthcheck" in broker
    for name in ("mosquitto.conf", "acl", "passwords.example"):
        assert (ROOT / "mosquitto" / name).is_file()


def test_postgres_has_a_healthcheck(compose: dict[str, Any]) -> None:
    """PostgreSQL 16 reports readiness with pg_isready."""
    db = compose["services"]["postgres"]
    assert db["image"] == "postgres:16"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_service_waits_for_broker_and_database(compose: dict[str, Any]) -> None:
    """The service is built here, serves, and starts once mosquitto and postgres are healthy."""
    svc = compose["services"]["v2g"]
    assert svc["build"] == "."
    assert svc["command"] == ["v2g", "serve"]
    env = svc["environment"]
    assert env["V2G_MQTT_URL"].startswith("mqtt://v2g-service:")
    assert env["V2G_MQTT_URL"].endswith("@mosquitto:1883")
    assert env["V2G_SITES"] == "10"
    assert env["V2G_DATABASE_URL"].startswith("postgresql://")
    assert env["V2G_HTTP_HOST"] == "0.0.0.0"  # noqa: S104  (inside its container)
    for dep in ("mosquitto", "postgres"):
        assert svc["depends_on"][dep]["condition"] == "service_healthy"
    for dep in ("migrate", "seed"):
        assert svc["depends_on"][dep]["condition"] == "service_completed_successfully"
    assert 'CMD ["v2g", "serve"]' in (ROOT / "Dockerfile").read_text()


def test_one_shots_migrate_then_seed_the_example(compose: dict[str, Any], tmp_path: Path) -> None:
    """migrate runs `v2g db upgrade`, then seed loads examples/site10 (copied into the image)
    into the service's database; both commands parse and the seed one runs here on SQLite."""
    services = compose["services"]
    url = services["v2g"]["environment"]["V2G_DATABASE_URL"]
    migrate, seed = services["migrate"], services["seed"]
    for one_shot in (migrate, seed):
        assert one_shot["image"] == services["v2g"]["image"]
        assert one_shot["environment"]["V2G_DATABASE_URL"] == url
        assert one_shot["restart"] == "no"
    assert migrate["command"] == ["v2g", "db", "upgrade"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert seed["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "COPY examples ./examples" in (ROOT / "Dockerfile").read_text()
    command = seed["command"]
    assert command[0] == "v2g"
    folder = command[command.index("--from") + 1]
    assert folder.startswith("/app/")
    local = ROOT / folder.removeprefix("/app/")
    assert (local / "routes.csv").is_file()
    args = [*command[1:], "--database-url", f"sqlite:///{tmp_path / 'v2g.db'}"]
    args[args.index("--from") + 1] = str(local)
    assert main(args) == 0


def test_simulator_runs_a_site_with_its_own_account(compose: dict[str, Any]) -> None:
    """The simulator uses the service's image, simulates site 10, as the simulator user."""
    sim = compose["services"]["simulator"]
    assert sim["image"] == compose["services"]["v2g"]["image"]
    command = sim["command"]
    start = command.index("simulate")
    assert command[start:] == ["simulate", "--site", "10", "--vehicles", "300"]
    assert sim["environment"]["V2G_MQTT_URL"].startswith("mqtt://v2g-simulator:")
    assert sim["depends_on"]["mosquitto"]["condition"] == "service_healthy"


def test_compose_credentials_match_the_example_passwords(compose: dict[str, Any]) -> None:
    """The accounts in the compose URLs exist in the broker's example password file."""
    lines = (ROOT / "mosquitto/passwords.example").read_text().splitlines()
    accounts = dict(line.split(":", 1) for line in lines if line and not line.startswith("#"))
    for service in ("v2g", "simulator"):
        url = compose["services"][service]["environment"]["V2G_MQTT_URL"]
        match = re.match(r"mqtt://([^:]+):([^@]+)@", url)
        assert match is not None, url
        assert accounts[match[1]] == match[2]


def test_prometheus_scrapes_the_service(compose: dict[str, Any]) -> None:
    """Prometheus scrapes v2g:8080/metrics."""
    prom = compose["services"]["prometheus"]
    assert any("prometheus/prometheus.yml" in v for v in prom["volumes"])
    config = _yaml("prometheus/prometheus.yml")
    jobs = config["scrape_configs"]
    targets = [
        (job.get("metrics_path", "/metrics"), target)
        for job in jobs
        for static in job["static_configs"]
        for target in static["targets"]
    ]
    assert ("/metrics", "v2g:8080") in targets


def test_grafana_is_provisioned(compose: dict[str, Any]) -> None:
    """Grafana gets a Prometheus datasource and a file dashboard provider."""
    grafana = compose["services"]["grafana"]
    assert any(v.startswith("./grafana/provisioning:") for v in grafana["volumes"])
    assert any(v.startswith("./grafana/dashboards:") for v in grafana["volumes"])
    (datasource,) = _yaml("grafana/provisioning/datasources/prometheus.yml")["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    (provider,) = _yaml("grafana/provisioning/dashboards/v2g.yml")["providers"]
    mounted = next(v for v in grafana["volumes"] if v.startswith("./grafana/dashboards:"))
    assert mounted.split(":")[1] == provider["options"]["path"]


def test_dashboard_has_the_operations_panels(dashboard: dict[str, Any]) -> None:
    """The dashboard shows dispatches, acks, latency, duration, fallbacks, fleet, bad payloads."""
    titles = {panel["title"] for panel in dashboard["panels"]}
    assert {
        "Dispatches by status",
        "Acks by outcome",
        "Ack latency",
        "Dispatch duration",
        "Fallback rounds",
        "Fleet online",
        "Bad payloads",
    } <= titles
    uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    assert uids == {"prometheus"}


def test_dashboard_queries_only_known_metrics(dashboard: dict[str, Any]) -> None:
    """Every metric a panel queries is in the catalog."""
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            names = {metric_name(t) for t in _METRIC.findall(target["expr"])}
            assert names, f"{panel['title']}: query names no v2g metric"
            assert names <= set(CATALOG), f"{panel['title']}: unknown {names - set(CATALOG)}"


def test_histogram_panels_use_buckets(dashboard: dict[str, Any]) -> None:
    """Latency quantiles are computed from histogram buckets of histogram metrics."""
    for title in ("Ack latency", "Dispatch duration"):
        panel = next(p for p in dashboard["panels"] if p["title"] == title)
        for target in panel["targets"]:
            expr = target["expr"]
            assert expr.startswith("histogram_quantile(")
            (series,) = _METRIC.findall(expr)
            assert series.endswith("_bucket")
            assert CATALOG[metric_name(series)].kind is MetricKind.HISTOGRAM


def test_counters_are_read_as_rates(dashboard: dict[str, Any]) -> None:
    """A counter is only ever queried through rate()."""
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for name in _METRIC.findall(target["expr"]):
                spec = CATALOG.get(name)
                if spec is not None and spec.kind is MetricKind.COUNTER:
                    assert f"rate({name}[" in target["expr"], f"{panel['title']}: {name}"


def test_metric_name_strips_histogram_suffixes_only_of_histograms() -> None:
    """``_bucket`` maps to its histogram; a counter's ``_total`` is kept whole."""
    assert metric_name("v2g_ack_latency_seconds_bucket") == "v2g_ack_latency_seconds"
    assert metric_name("v2g_dispatches_total") == "v2g_dispatches_total"
    assert metric_name("v2g_unknown_sum") == "v2g_unknown_sum"
