"""The :class:`MetricsSink` port, the no-op sink and an in-memory recording sink."""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol

from metrics.catalog import CATALOG, MetricKind, MetricSpec

LabelKey = tuple[tuple[str, str], ...]


class MetricsSink(Protocol):
    """Where the domain records what happened. Names and labels come from the catalogue."""

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to a counter."""
        ...

    def observe(self, name: str, value: float, **labels: str) -> None:
        """Record one observation of a histogram."""
        ...

    def set(self, name: str, value: float, **labels: str) -> None:
        """Set a gauge."""
        ...


class NopSink:
    """Records nothing."""

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Do nothing."""

    def observe(self, name: str, value: float, **labels: str) -> None:
        """Do nothing."""

    def set(self, name: str, value: float, **labels: str) -> None:
        """Do nothing."""


def checked_spec(name: str, kind: MetricKind, labels: dict[str, str]) -> MetricSpec:
    """The catalogue entry for ``name``; raises ValueError on a wrong kind or label set."""
    spec = CATALOG.get(name)
    if spec is None:
        raise ValueError(f"unknown metric {name!r}: declare it in metrics.catalog")
    if spec.kind is not kind:
        raise ValueError(f"metric {name} is a {spec.kind.value}, not a {kind.value}")
    if set(labels) != set(spec.labels):
        raise ValueError(f"metric {name} takes labels {spec.labels}, got {tuple(labels)}")
    return spec


class RecordingSink:
    """Keeps every value in memory, validated against the catalogue like a real sink."""

    def __init__(self) -> None:
        self.counters: dict[str, dict[LabelKey, float]] = defaultdict(lambda: defaultdict(float))
        self.gauges: dict[str, dict[LabelKey, float]] = defaultdict(dict)
        self.observations: dict[str, dict[LabelKey, list[float]]] = defaultdict(
            lambda: defaultdict(list)
        )

    @staticmethod
    def _key(labels: dict[str, str]) -> LabelKey:
        return tuple(sorted(labels.items()))

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add to a counter; counters never go down."""
        checked_spec(name, MetricKind.COUNTER, labels)
        if amount < 0:
            raise ValueError(f"counter {name} cannot decrease")
        self.counters[name][self._key(labels)] += amount

    def observe(self, name: str, value: float, **labels: str) -> None:
        """Append an observation."""
        checked_spec(name, MetricKind.HISTOGRAM, labels)
        self.observations[name][self._key(labels)].append(value)

    def set(self, name: str, value: float, **labels: str) -> None:
        """Set a gauge."""
        checked_spec(name, MetricKind.GAUGE, labels)
        self.gauges[name][self._key(labels)] = value

    def total(self, name: str, **labels: str) -> float:
        """Sum of a counter over every label set that matches ``labels``."""
        want = set(labels.items())
        return sum(v for k, v in self.counters[name].items() if want <= set(k))
