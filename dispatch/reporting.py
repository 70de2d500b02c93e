"""What a dispatch tells the outside when it ends, and when an ack is not counted.

Metrics, events and logs only: the manager calls these with its sink and bus.
"""

from __future__ import annotations

import logging

import structlog

from dispatch.acks import AckVerdict
from dispatch.events import AckAnomaly, DispatchCompleted
from dispatch.models import Ack, DispatchResult, Order
from eventbus import EventBus
from metrics import MetricsSink
from metrics import catalog as m

log = structlog.get_logger("dispatch.manager")

# QoS 1 delivers at least once: duplicates are routine, forged or unknown acks are not
_LEVEL = {AckVerdict.DUPLICATE: logging.DEBUG, AckVerdict.LATE: logging.INFO}


def report_result(
    result: DispatchResult, elapsed_s: float, metrics: MetricsSink, events: EventBus
) -> None:
    """Record the metrics of a finished dispatch, publish DispatchCompleted, log it."""
    site = result.site_id
    metrics.inc(
        m.DISPATCHES,
        site=site,
        status=result.status.value,
        dispatcher=result.dispatcher,
        fallback=result.fallback,
    )
    metrics.observe(m.DISPATCH_DURATION, elapsed_s, site=site, dispatcher=result.dispatcher)
    metrics.set(m.DISPATCH_REQUESTED, result.requested_kw, site=site)
    metrics.set(m.DISPATCH_ACKNOWLEDGED, result.acknowledged_kw, site=site)
    metrics.observe(m.DISPATCH_FULFILMENT, result.acknowledged_kw / result.requested_kw, site=site)
    events.publish(DispatchCompleted(result.signal_id, site, result))
    log.info(
        "dispatch_completed",
        status=result.status.value,
        requested_kw=result.requested_kw,
        acknowledged_kw=round(result.acknowledged_kw, 3),
        rounds=result.rounds,
        vehicles=len(result.vehicles),
        elapsed_s=round(elapsed_s, 4),
        reason=result.reason,
    )


def report_ack_not_counted(
    ack: Ack, verdict: AckVerdict, order: Order | None, metrics: MetricsSink, events: EventBus
) -> None:
    """Count and log an ack that was late, a duplicate, from the wrong vehicle or unknown."""
    site = order.site_id if order is not None else "unknown"
    if verdict is AckVerdict.LATE:
        metrics.inc(m.ACKS_LATE, site=site)
    elif verdict is AckVerdict.DUPLICATE:
        metrics.inc(m.ACKS_DUPLICATE, site=site)
    else:
        metrics.inc(m.ACKS_UNMATCHED, site=site, reason=verdict.value)
    log.log(
        _LEVEL.get(verdict, logging.WARNING),
        "ack_not_counted",
        verdict=verdict.value,
        order_id=ack.order_id,
        vehicle_id=ack.vehicle_id,
        signal_id=order.signal_id if order is not None else None,
    )
    if order is not None:
        events.publish(
            AckAnomaly(order.signal_id, site, verdict.value, ack.order_id, ack.vehicle_id)
        )
