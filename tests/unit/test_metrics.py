"""The metrics catalogue and its sinks: validation, recording, Prometheus exposition."""

from __future__ import annotations

import pytest

from metrics import CATALOG, MetricKind, NopSink, PrometheusSink, RecordingSink
from metrics.catalog import (
    ACKS,
    DISPATCH_DURATION,
    DISPATCH_REQUESTED,
    DISPATCHES,
    DISPATCHES_IN_FLIGHT,
    MetricSpec,
    register,
)

DISPATCH_LABELS = {"site": "depot-a", "status": "ok", "dispatcher": "lp", "fallback": "none"}

Sink = RecordingSink | PrometheusSink


@pytest.fixture(params=[RecordingSink, PrometheusSink], ids=["recording", "prometheus"])
def sink(request: pytest.FixtureRequest) -> Sink:
    """Each validating sink, fresh per test."""
    made: Sink = request.param()
    return made


def _lines(sink: PrometheusSink) -> list[str]:
    return sink.render().decode().splitlines()


# --- validation, shared by both validating sinks --------------------------------------------------


def test_unknown_metric_is_refused(sink: Sink) -> None:
    """A name missing from the catalogue raises ValueError for every kind of record."""
    with pytest.raises(ValueError, match="unknown metric"):
        sink.inc("v2g_made_up_total", site="a")
    with pytest.raises(ValueError, match="unknown metric"):
        sink.observe("v2g_made_up_seconds", 1.0, site="a")
    with pytest.raises(ValueError, match="unknown metric"):
        sink.set("v2g_made_up_kw", 1.0, site="a")


def test_wrong_kind_is_refused(sink: Sink) -> None:
    """A counter cannot be set or observed; a gauge cannot be incremented (even once the
    counter has been recorded with the same labels)."""
    sink.inc(DISPATCHES, 1.0, **DISPATCH_LABELS)
    with pytest.raises(ValueError, match="is a counter, not a gauge"):
        sink.set(DISPATCHES, 1.0, **DISPATCH_LABELS)
    with pytest.raises(ValueError, match="is a counter, not a histogram"):
        sink.observe(DISPATCHES, 1.0, **DISPATCH_LABELS)
    with pytest.raises(ValueError, match="is a gauge, not a counter"):
        sink.inc(DISPATCH_REQUESTED, site="a")
    with pytest.raises(ValueError, match="is a histogram, not a gauge"):
        sink.set(DISPATCH_DURATION, 1.0, site="a", dispatcher="lp")


@pytest.mark.parametrize(
    "labels",
    [
        {},
        {"site": "a"},
        {**DISPATCH_LABELS, "vehicle_id": "ev-1"},
        {"site": "a", "status": "ok", "dispatcher": "lp", "fall_back": "none"},
    ],
    ids=["none", "missing", "extra", "misspelt"],
)
def test_wrong_label_set_is_refused(sink: Sink, labels: dict[str, str]) -> None:
    """Labels must be exactly the catalogue's label names (also after a correct record)."""
    sink.inc(DISPATCHES, 1.0, **DISPATCH_LABELS)
    with pytest.raises(ValueError, match="takes labels"):
        sink.inc(DISPATCHES, 1.0, **labels)


def test_counters_cannot_decrease(sink: Sink) -> None:
    """A negative increment raises ValueError."""
    with pytest.raises(ValueError, match=r"cannot decrease|non-negative"):
        sink.inc(DISPATCHES, -1.0, **DISPATCH_LABELS)


# --- recording sink -----------------------------------------------------------------------------


def test_recording_sink_keeps_counters_gauges_and_observations() -> None:
    """Counters add up, gauges keep the last value, histograms keep every observation."""
    sink = RecordingSink()
    sink.inc(DISPATCHES, 1.0, **DISPATCH_LABELS)
    sink.inc(DISPATCHES, 2.0, **DISPATCH_LABELS)
    sink.set(DISPATCH_REQUESTED, 50.0, site="a")
    sink.set(DISPATCH_REQUESTED, 20.0, site="a")
    sink.observe(DISPATCH_DURATION, 0.5, site="a", dispatcher="lp")
    sink.observe(DISPATCH_DURATION, 1.5, site="a", dispatcher="lp")
    key = tuple(sorted(DISPATCH_LABELS.items()))
    assert sink.counters[DISPATCHES][key] == 3.0
    assert sink.gauges[DISPATCH_REQUESTED] == {(("site", "a"),): 20.0}
    assert sink.observations[DISPATCH_DURATION] == {
        (("dispatcher", "lp"), ("site", "a")): [0.5, 1.5]
    }


def test_rejected_decrease_leaves_the_counter_unchanged() -> None:
    """A refused negative increment does not touch the stored value."""
    sink = RecordingSink()
    sink.inc(DISPATCHES, 2.0, **DISPATCH_LABELS)
    with pytest.raises(ValueError, match="cannot decrease"):
        sink.inc(DISPATCHES, -1.0, **DISPATCH_LABELS)
    assert sink.total(DISPATCHES) == 2.0


def test_total_sums_every_matching_label_set() -> None:
    """total() sums the counter over the label sets that contain the given labels."""
    sink = RecordingSink()
    sink.inc(ACKS, 1.0, site="a", outcome="accepted")
    sink.inc(ACKS, 2.0, site="a", outcome="refused")
    sink.inc(ACKS, 4.0, site="b", outcome="accepted")
    assert sink.total(ACKS) == 7.0
    assert sink.total(ACKS, site="a") == 3.0
    assert sink.total(ACKS, outcome="accepted") == 5.0
    assert sink.total(ACKS, site="b", outcome="refused") == 0.0
    assert sink.total(DISPATCHES) == 0.0


def test_nop_sink_accepts_anything_and_records_nothing() -> None:
    """The no-op sink never validates, so unknown names and labels do not raise."""
    sink = NopSink()
    sink.inc("anything", 1.0, x="y")
    sink.observe("anything", 1.0)
    sink.set("anything", 1.0)


# --- prometheus sink ----------------------------------------------------------------------------


def test_prometheus_counter_renders_with_total_suffix() -> None:
    """A counter renders as ``<name>_total{labels} value`` under its catalogue name."""
    sink = PrometheusSink()
    sink.inc(DISPATCHES, 1.0, **DISPATCH_LABELS)
    lines = _lines(sink)
    assert (
        'v2g_dispatches_total{dispatcher="lp",fallback="none",site="depot-a",status="ok"} 1.0'
        in lines
    )
    assert "# TYPE v2g_dispatches_total counter" in lines
    sink.inc(DISPATCHES, 2.5, **DISPATCH_LABELS)
    assert (
        'v2g_dispatches_total{dispatcher="lp",fallback="none",site="depot-a",status="ok"} 3.5'
        in _lines(sink)
    )


def test_prometheus_histogram_renders_buckets_count_and_sum() -> None:
    """An observation lands in the first bucket at or above it and every later one."""
    sink = PrometheusSink()
    sink.observe(DISPATCH_DURATION, 0.03, site="a", dispatcher="lp")
    lines = _lines(sink)
    prefix = "v2g_dispatch_duration_seconds"
    assert f'{prefix}_bucket{{dispatcher="lp",le="0.025",site="a"}} 0.0' in lines
    assert f'{prefix}_bucket{{dispatcher="lp",le="0.05",site="a"}} 1.0' in lines
    assert f'{prefix}_bucket{{dispatcher="lp",le="30.0",site="a"}} 1.0' in lines
    assert f'{prefix}_bucket{{dispatcher="lp",le="+Inf",site="a"}} 1.0' in lines
    assert f'{prefix}_count{{dispatcher="lp",site="a"}} 1.0' in lines
    assert f'{prefix}_sum{{dispatcher="lp",site="a"}} 0.03' in lines


def test_prometheus_gauge_renders_its_last_value() -> None:
    """A gauge renders the value it was last set to."""
    sink = PrometheusSink()
    sink.set(DISPATCHES_IN_FLIGHT, 3.0, site="a")
    sink.set(DISPATCHES_IN_FLIGHT, 2.0, site="a")
    lines = _lines(sink)
    assert 'v2g_dispatches_in_flight{site="a"} 2.0' in lines
    assert 'v2g_dispatches_in_flight{site="a"} 3.0' not in lines


def test_prometheus_sinks_have_independent_registries() -> None:
    """Two sinks can coexist, and one's values never appear in the other's output."""
    first, second = PrometheusSink(), PrometheusSink()
    first.set(DISPATCH_REQUESTED, 42.0, site="a")
    assert 'v2g_dispatch_requested_kw{site="a"} 42.0' in _lines(first)
    assert not any(line.startswith("v2g_dispatch_requested_kw{") for line in _lines(second))


def test_prometheus_declares_every_catalogue_metric_under_its_name() -> None:
    """Each catalogue metric is exposed with its catalogue name and kind."""
    lines = _lines(PrometheusSink())
    for spec in CATALOG.values():
        assert f"# TYPE {spec.name} {spec.kind.value}" in lines


# --- the catalogue itself -----------------------------------------------------------------------


_UNIT_SUFFIXES = {
    MetricKind.COUNTER: ("_total",),
    MetricKind.HISTOGRAM: ("_seconds", "_ratio"),
    # a gauge carries its unit (kW, kWh, EUR, seconds, vehicles, routes, a score), counts
    # something in flight, or is a 0/1 state
    MetricKind.GAUGE: (
        "_kw",
        "_kwh",
        "_eur",
        "_seconds",
        "_vehicles",
        "_routes",
        "_score",
        "_in_flight",
        "_connected",
    ),
}


@pytest.mark.parametrize("spec", list(CATALOG.values()), ids=lambda s: s.name)
def test_catalogue_names_carry_a_prefix_and_unit(spec: MetricSpec) -> None:
    """Names start with v2g_; counters end _total, histograms _seconds/_ratio, gauges name their
    unit, an in-flight count or a 0/1 state."""
    assert spec.name.startswith("v2g_")
    assert spec.name.endswith(_UNIT_SUFFIXES[spec.kind])
    assert spec.help


@pytest.mark.parametrize("spec", list(CATALOG.values()), ids=lambda s: s.name)
def test_catalogue_has_no_per_vehicle_labels(spec: MetricSpec) -> None:
    """No metric is labelled by vehicle (unbounded cardinality)."""
    assert not any("vehicle" in label for label in spec.labels)
    assert len(set(spec.labels)) == len(spec.labels)


@pytest.mark.parametrize(
    "spec",
    [s for s in CATALOG.values() if s.kind is MetricKind.HISTOGRAM],
    ids=lambda s: s.name,
)
def test_histogram_buckets_are_declared_and_increasing(spec: MetricSpec) -> None:
    """Every histogram declares strictly increasing buckets."""
    assert spec.buckets
    assert list(spec.buckets) == sorted(set(spec.buckets))


def test_register_accepts_an_identical_declaration_and_refuses_a_different_one() -> None:
    """Re-declaring a metric identically is a no-op; declaring it differently raises."""
    original = CATALOG[DISPATCHES]
    register(original)
    assert CATALOG[DISPATCHES] is original
    changed = MetricSpec(DISPATCHES, MetricKind.COUNTER, original.help, ("site",))
    with pytest.raises(ValueError, match="already declared differently"):
        register(changed)
    assert CATALOG[DISPATCHES] is original
