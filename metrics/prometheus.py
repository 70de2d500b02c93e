"""The Prometheus sink: every catalogue metric on its own registry, exposed as text."""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from metrics.catalog import CATALOG, MetricKind, MetricSpec
from metrics.sink import checked_spec


def _make(spec: MetricSpec, registry: CollectorRegistry) -> Any:
    if spec.kind is MetricKind.COUNTER:
        # prometheus-client appends _total itself; declare the stem.
        return Counter(spec.name.removesuffix("_total"), spec.help, spec.labels, registry=registry)
    if spec.kind is MetricKind.GAUGE:
        return Gauge(spec.name, spec.help, spec.labels, registry=registry)
    buckets = spec.buckets or Histogram.DEFAULT_BUCKETS
    return Histogram(spec.name, spec.help, spec.labels, registry=registry, buckets=buckets)


class PrometheusSink:
    """Implements :class:`~metrics.sink.MetricsSink` with prometheus-client collectors."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._metrics = {name: _make(spec, self.registry) for name, spec in CATALOG.items()}
        # checked once per name, kind and label values: a dispatch counts every ack
        self._children: dict[tuple[object, ...], Any] = {}

    def _child(self, name: str, kind: MetricKind, labels: dict[str, str]) -> Any:
        key = (name, kind, *labels.items())
        child = self._children.get(key)
        if child is None:
            spec = checked_spec(name, kind, labels)
            metric = self._metrics[name]
            child = metric.labels(**labels) if spec.labels else metric
            self._children[key] = child
        return child

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add to a counter."""
        self._child(name, MetricKind.COUNTER, labels).inc(amount)

    def observe(self, name: str, value: float, **labels: str) -> None:
        """Observe a histogram value."""
        self._child(name, MetricKind.HISTOGRAM, labels).observe(value)

    def set(self, name: str, value: float, **labels: str) -> None:
        """Set a gauge."""
        self._child(name, MetricKind.GAUGE, labels).set(value)

    def render(self) -> bytes:
        """The exposition text for ``/metrics``."""
        return generate_latest(self.registry)
