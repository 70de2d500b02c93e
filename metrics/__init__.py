"""Metrics: the sink port the domain records into, and its implementations.

The catalogue (:mod:`metrics.catalog`) is the single list of metric names, kinds, units and
labels; every sink accepts exactly those. Labels never identify a vehicle.
"""

from metrics.catalog import CATALOG, MetricKind, MetricSpec
from metrics.prometheus import PrometheusSink
from metrics.sink import MetricsSink, NopSink, RecordingSink

__all__ = [
    "CATALOG",
    "MetricKind",
    "MetricSpec",
    "MetricsSink",
    "NopSink",
    "PrometheusSink",
    "RecordingSink",
]
