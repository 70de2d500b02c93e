"""``v2g serve`` and ``v2g signal send``: the service, and an operator's signal from the shell.

    v2g serve [--config FILE]
    v2g signal send --site S --direction discharge|charge --power-kw P --duration 30m|1800
                    [--type peak_shaving] [--start ISO] [--signal-id ID] [--timeout S]
                    [--config FILE]

``serve`` journals its dispatches in ``V2G_DATABASE_URL``, the embedded SQLite file
``v2g.db`` when unset; a database it cannot open or whose schema is out of date ends it at
start with exit code 2 and the reason. ``signal send`` publishes the signal (QoS 1), waits
for the retained result on ``{prefix}/{site}/signals/{id}/result`` and prints it. Exit code:
0 fulfilled or partial, 1 failed, 2 no result before the timeout (or no broker). Both read
:class:`ServiceSettings`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal as signals
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import structlog
from pydantic import ValidationError

from dispatch.models import DispatchStatus
from v2g.logs import configure_logging
from v2g.mqtt import MqttSettings, Protocol, ResultPayload, SignalPayload, Topics
from v2g.mqtt.payloads import encode
from v2g.service import Service
from v2g.settings import ServiceSettings, SettingsError, load_settings
from v2g.storage import StorageError
from v2g.table import render_table

log = structlog.get_logger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_NO_RESULT = 0, 1, 2
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")
_UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``serve`` and ``signal send`` subcommands."""
    serve = subparsers.add_parser("serve", help="run the dispatch service")
    serve.add_argument("--config", type=Path, help="settings file (.toml or .env)")
    serve.set_defaults(func=cmd_serve)

    signal = subparsers.add_parser("signal", help="flexibility signals")
    actions = signal.add_subparsers(dest="signal_command", required=True)
    send = actions.add_parser("send", help="send a signal and print its result")
    send.add_argument("--site", required=True)
    send.add_argument("--direction", required=True, choices=("discharge", "charge"))
    send.add_argument("--power-kw", required=True, type=float)
    send.add_argument("--duration", required=True, type=duration_s, help="1800, 30m, 1.5h")
    send.add_argument("--type", default="peak_shaving", dest="signal_type")
    send.add_argument("--start", type=datetime.fromisoformat, help="ISO-8601 (default: now)")
    send.add_argument("--signal-id", help="idempotency key (default: a new one)")
    send.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a result")
    send.add_argument("--config", type=Path, help="settings file (.toml or .env)")
    send.set_defaults(func=cmd_signal_send)


def duration_s(text: str) -> float:
    """Seconds in ``text``: plain seconds or a number with an ``s``, ``m`` or ``h`` suffix."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"bad duration {text!r} (try 1800, 30m or 1.5h)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


# -- serve ---------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    """Load the settings, configure logging, run the service until SIGTERM/SIGINT."""
    try:
        settings = load_settings(args.config).with_embedded_database()
        settings.require_sites()
    except SettingsError as exc:
        sys.stderr.write(f"v2g serve: {exc}\n")
        return EXIT_NO_RESULT
    configure_logging(settings.log_level, json=settings.log_json)
    try:
        return asyncio.run(serve(settings))
    except StorageError as exc:
        sys.stderr.write(f"v2g serve: {exc}\n")
        return EXIT_NO_RESULT


async def serve(settings: ServiceSettings) -> int:
    """Run :class:`Service` until a stop signal; it drains its dispatches before returning."""
    loop = asyncio.get_running_loop()
    async with Service(settings) as service:
        for sig in (signals.SIGTERM, signals.SIGINT):
            loop.add_signal_handler(sig, service.stop)
        try:
            await service.wait_stopped()
            log.info("service_stopping")
        finally:
            for sig in (signals.SIGTERM, signals.SIGINT):
                loop.remove_signal_handler(sig)
    return EXIT_OK


# -- signal send ---------------------------------------------------------------------------


def cmd_signal_send(args: argparse.Namespace) -> int:
    """Build the signal from the arguments, send it, print the result."""
    try:
        settings = load_settings(args.config)
        payload = SignalPayload(
            signal_id=args.signal_id or f"cli-{uuid.uuid4().hex[:12]}",
            type=args.signal_type,
            direction=args.direction,
            power_kw=args.power_kw,
            start=args.start or datetime.now(UTC),
            duration_s=args.duration,
        )
    except (SettingsError, ValidationError) as exc:
        sys.stderr.write(f"v2g signal send: {exc}\n")
        return EXIT_NO_RESULT
    result = asyncio.run(send_signal(settings.mqtt_settings(), args.site, payload, args.timeout))
    return report(result, payload.signal_id, args.timeout)


async def send_signal(
    mqtt: MqttSettings, site_id: str, payload: SignalPayload, timeout_s: float
) -> ResultPayload | None:
    """Publish ``payload`` for ``site_id`` and wait for its retained result (None: none came).

    The result topic is subscribed before the signal goes out, so a fast answer is not
    missed; a result already retained for this ``signal_id`` is the answer (idempotency).
    """
    topics = Topics(mqtt.topic_prefix)
    result_topic = topics.result(site_id, payload.signal_id)
    v5 = mqtt.protocol is Protocol.V5
    client = aiomqtt.Client(
        mqtt.host,
        mqtt.port,
        username=mqtt.username,
        password=mqtt.password.get_secret_value() if mqtt.password is not None else None,
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        timeout=min(timeout_s, mqtt.operation_timeout_s),
    )
    try:
        async with asyncio.timeout(timeout_s), client:
            await client.subscribe(result_topic, qos=1)
            await client.publish(topics.signals(site_id), encode(payload), qos=1)
            async for message in client.messages:
                raw = message.payload
                # some brokers (amqtt) replay other sessions' retained messages on connect
                if not message.topic.matches(result_topic):
                    continue
                if isinstance(raw, bytes | bytearray) and raw:
                    return ResultPayload.model_validate_json(raw)
    except (TimeoutError, aiomqtt.MqttError) as exc:
        log.warning("signal_no_result", signal_id=payload.signal_id, error=str(exc) or "timeout")
    return None


def report(result: ResultPayload | None, signal_id: str, timeout_s: float) -> int:
    """Print ``result`` as tables; the exit code its status calls for."""
    if result is None:
        sys.stderr.write(f"no result for signal {signal_id} within {timeout_s:g} s\n")
        return EXIT_NO_RESULT
    sys.stdout.write(render_result(result) + "\n")
    return EXIT_FAILED if result.status is DispatchStatus.FAILED else EXIT_OK


def render_result(result: ResultPayload) -> str:
    """A summary table of the result, then one row per vehicle ordered."""
    summary = render_table(
        [
            "signal_id",
            "site",
            "status",
            "requested_kw",
            "allocated_kw",
            "acknowledged_kw",
            "rounds",
            "dispatcher",
            "fallback",
            "vehicles",
        ],
        [
            [
                result.signal_id,
                result.site_id,
                result.status.value,
                f"{result.requested_kw:.1f}",
                f"{result.allocated_kw:.1f}",
                f"{result.acknowledged_kw:.1f}",
                result.rounds,
                result.dispatcher,
                result.fallback,
                len(result.vehicles),
            ]
        ],
    )
    parts = [summary]
    if result.reason:
        parts.append(f"reason: {result.reason}")
    if result.vehicles:
        parts.append(
            render_table(
                ["vehicle_id", "ordered_kw", "acknowledged_kw", "outcome", "orders"],
                [
                    [
                        v.vehicle_id,
                        f"{v.ordered_kw:.2f}",
                        f"{v.acknowledged_kw:.2f}",
                        v.outcome.value,
                        v.orders,
                    ]
                    for v in result.vehicles
                ],
            )
        )
    return "\n\n".join(parts)
