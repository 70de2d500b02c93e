"""Every metric the service records: name (unit in the name), kind, help, label names."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class MetricKind(enum.Enum):
    """Prometheus metric type."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class MetricSpec:
    """One metric's declaration."""

    name: str
    kind: MetricKind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] | None = None


_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_LAG_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
_JOB_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

C, G, H = MetricKind.COUNTER, MetricKind.GAUGE, MetricKind.HISTOGRAM

DISPATCHES = "v2g_dispatches_total"
DISPATCH_DURATION = "v2g_dispatch_duration_seconds"
DISPATCH_REQUESTED = "v2g_dispatch_requested_kw"
DISPATCH_ACKNOWLEDGED = "v2g_dispatch_acknowledged_kw"
DISPATCH_FULFILMENT = "v2g_dispatch_fulfilment_ratio"
DISPATCH_ALLOCATION = "v2g_dispatch_allocation_seconds"
DISPATCHES_IN_FLIGHT = "v2g_dispatches_in_flight"
SIGNALS_REPEATED = "v2g_signals_repeated_total"
ORDERS_SENT = "v2g_orders_sent_total"
ACKS = "v2g_acks_total"
ACK_TIMEOUTS = "v2g_ack_timeouts_total"
ACKS_LATE = "v2g_acks_late_total"
ACKS_DUPLICATE = "v2g_acks_duplicate_total"
ACKS_UNMATCHED = "v2g_acks_unmatched_total"
ACK_LATENCY = "v2g_ack_latency_seconds"
FALLBACK_ROUNDS = "v2g_fallback_rounds_total"
VEHICLES_EXCLUDED = "v2g_dispatch_vehicles_excluded_total"
TUNER_ADJUSTMENTS = "v2g_tuner_weight_adjustments_total"
MQTT_MESSAGES_RECEIVED = "v2g_mqtt_messages_received_total"
MQTT_PAYLOADS_REJECTED = "v2g_mqtt_payloads_rejected_total"
MQTT_UNKNOWN_VEHICLES = "v2g_mqtt_unknown_vehicle_messages_total"
MQTT_PUBLISH_FAILURES = "v2g_mqtt_publish_failures_total"
MQTT_RECONNECTS = "v2g_mqtt_reconnects_total"
MQTT_CONNECTED = "v2g_mqtt_connected"
FLEET_VEHICLES = "v2g_fleet_vehicles"
EVENT_LOOP_LAG = "v2g_event_loop_lag_seconds"
EVENT_LOOP_LAG_MAX = "v2g_event_loop_lag_max_seconds"
JOB_RUNS = "v2g_job_runs_total"
JOB_DURATION = "v2g_job_duration_seconds"
JOB_RETRIES = "v2g_job_retries_total"
ALLOCATION_ROUTES_COVERED = "v2g_allocation_covered_routes"
ALLOCATION_ROUTES_IN_WINDOW = "v2g_allocation_window_routes"
ALLOCATION_OBJECTIVE = "v2g_allocation_objective_score"
SCHEDULE_COST = "v2g_schedule_cost_eur"
SCHEDULE_UNMET = "v2g_schedule_unmet_kwh"
SCHEDULES_PUBLISHED = "v2g_schedules_published_total"
JOURNAL_WRITE = "v2g_journal_write_seconds"
JOURNAL_ERRORS = "v2g_journal_errors_total"
DISPATCHES_RECOVERED = "v2g_dispatches_recovered_total"

_SPECS = (
    MetricSpec(
        DISPATCHES,
        C,
        "Dispatches completed, by outcome",
        ("site", "status", "dispatcher", "fallback"),
    ),
    MetricSpec(
        DISPATCH_DURATION,
        H,
        "Signal received to result ready",
        ("site", "dispatcher"),
        _LATENCY_BUCKETS,
    ),
    MetricSpec(DISPATCH_REQUESTED, G, "Power requested by the last signal", ("site",)),
    MetricSpec(DISPATCH_ACKNOWLEDGED, G, "Power acknowledged for the last signal", ("site",)),
    MetricSpec(
        DISPATCH_FULFILMENT,
        H,
        "Acknowledged over requested power per dispatch",
        ("site",),
        (0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0, 1.1, 1.5),
    ),
    MetricSpec(
        DISPATCH_ALLOCATION,
        H,
        "Time the dispatcher took to split the power",
        ("dispatcher",),
        _LATENCY_BUCKETS,
    ),
    MetricSpec(DISPATCHES_IN_FLIGHT, G, "Dispatches currently running", ("site",)),
    MetricSpec(SIGNALS_REPEATED, C, "Signals received again with a known signal_id", ("site",)),
    MetricSpec(ORDERS_SENT, C, "Orders published to vehicles", ("site", "round")),
    MetricSpec(ACKS, C, "Acknowledgements matched to an open order", ("site", "outcome")),
    MetricSpec(ACK_TIMEOUTS, C, "Orders with no acknowledgement before the timeout", ("site",)),
    MetricSpec(ACKS_LATE, C, "Acknowledgements that arrived after their order expired", ("site",)),
    MetricSpec(ACKS_DUPLICATE, C, "Acknowledgements for an already answered order", ("site",)),
    MetricSpec(
        ACKS_UNMATCHED,
        C,
        "Acknowledgements for unknown orders or from the wrong vehicle",
        ("site", "reason"),
    ),
    MetricSpec(
        ACK_LATENCY, H, "Order published to acknowledgement received", ("site",), _LATENCY_BUCKETS
    ),
    MetricSpec(FALLBACK_ROUNDS, C, "Fallback rounds that sent orders", ("site", "fallback")),
    MetricSpec(
        VEHICLES_EXCLUDED, C, "Vehicles the filter excluded from a dispatch", ("site", "reason")
    ),
    MetricSpec(
        TUNER_ADJUSTMENTS, C, "Weight adjustments made by the learning tuner", ("signal_type",)
    ),
    MetricSpec(MQTT_MESSAGES_RECEIVED, C, "MQTT messages received", ("kind",)),
    MetricSpec(
        MQTT_PAYLOADS_REJECTED, C, "MQTT messages dropped for a bad topic or payload", ("kind",)
    ),
    MetricSpec(
        MQTT_UNKNOWN_VEHICLES,
        C,
        "MQTT messages dropped because the vehicle is not in the fleet registry",
        ("kind",),
    ),
    MetricSpec(MQTT_PUBLISH_FAILURES, C, "MQTT publications that failed", ("kind",)),
    MetricSpec(MQTT_RECONNECTS, C, "Connection attempts to the broker that failed"),
    MetricSpec(MQTT_CONNECTED, G, "1 while connected to the broker, else 0"),
    MetricSpec(FLEET_VEHICLES, G, "Vehicles known per site, online or offline", ("site", "state")),
    MetricSpec(
        EVENT_LOOP_LAG, H, "How late the event loop woke a periodic probe", (), _LAG_BUCKETS
    ),
    MetricSpec(EVENT_LOOP_LAG_MAX, G, "Largest event loop lag over the last report interval"),
    MetricSpec(
        JOB_RUNS, C, "Planning job runs, by outcome and solver", ("site", "job", "status", "solver")
    ),
    MetricSpec(JOB_DURATION, H, "Planning job run time", ("site", "job"), _JOB_BUCKETS),
    MetricSpec(JOB_RETRIES, C, "Planning job runs retried after a failure", ("site", "job")),
    MetricSpec(ALLOCATION_ROUTES_COVERED, G, "Routes covered by the last allocation", ("site",)),
    MetricSpec(ALLOCATION_ROUTES_IN_WINDOW, G, "Routes in the last allocation's window", ("site",)),
    MetricSpec(ALLOCATION_OBJECTIVE, G, "Objective of the last allocation", ("site",)),
    MetricSpec(SCHEDULE_COST, G, "Energy cost of the last charge plan", ("site",)),
    MetricSpec(SCHEDULE_UNMET, G, "Route energy the last charge plan could not meet", ("site",)),
    MetricSpec(SCHEDULES_PUBLISHED, C, "Vehicle schedules published (retained)", ("site",)),
    MetricSpec(
        JOURNAL_WRITE, H, "Time to write a dispatch journal entry", ("op",), _LATENCY_BUCKETS
    ),
    MetricSpec(JOURNAL_ERRORS, C, "Dispatch journal writes that failed", ("op",)),
    MetricSpec(
        DISPATCHES_RECOVERED,
        C,
        "Dispatches found in flight at start-up and completed from the journal",
        ("site", "status"),
    ),
)

CATALOG: dict[str, MetricSpec] = {spec.name: spec for spec in _SPECS}


def register(spec: MetricSpec) -> None:
    """Add a metric declared by another part of the application (before sinks are built)."""
    existing = CATALOG.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"metric {spec.name} is already declared differently")
    CATALOG[spec.name] = spec
