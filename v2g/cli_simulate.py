"""``v2g simulate``: the telematics gateways of one site's fleet, over MQTT, until stopped.

    v2g simulate --site 10 --vehicles 300 [--seed S]
                 [--accept 0.8 --reject 0.1 --partial 0.05 --silent 0.05] [--latency-ms 20-250]

The broker comes from ``V2G_MQTT_URL`` (``mqtt://[user[:password]@]host[:port]``, default
``mqtt://127.0.0.1:1883``) and the topic prefix from ``V2G_TOPIC_PREFIX`` (default ``v2g``).
Runs until SIGINT or SIGTERM; a lost broker connection is retried with jittered backoff.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
from collections.abc import Mapping, Sequence
from urllib.parse import unquote, urlsplit

import aiomqtt
import structlog

from fleet.vehicle import Vehicle
from v2g.mqtt.settings import MqttSettings
from v2g.mqtt.transport import backoff_delays
from v2g.sim.behaviour import Behaviour
from v2g.sim.fleetgen import make_fleet
from v2g.simulator import GatewayFleet

log = structlog.get_logger(__name__)

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``simulate`` subcommand."""
    p = subparsers.add_parser("simulate", help="simulate a site's vehicle gateways over MQTT")
    p.add_argument("--site", required=True, help="site id")
    p.add_argument("--vehicles", type=int, default=300, help="fleet size (default 300)")
    p.add_argument("--seed", type=int, default=7, help="simulation seed (default 7)")
    p.add_argument("--accept", type=float, default=0.8, help="rate of full acceptance")
    p.add_argument("--reject", type=float, default=0.1, help="rate of refusals")
    p.add_argument("--partial", type=float, default=0.05, help="rate of partial acceptance")
    p.add_argument("--silent", type=float, default=0.05, help="rate of orders left unanswered")
    p.add_argument("--late", type=float, default=0.0, help="rate of answers after expiry")
    p.add_argument(
        "--latency-ms", type=latency_range, default=(0.02, 0.25), help="MIN-MAX (default 20-250)"
    )
    p.add_argument("--per-session", type=int, default=500, help="vehicles per MQTT session")
    p.set_defaults(func=cmd_simulate)


def latency_range(text: str) -> tuple[float, float]:
    """``"20-250"`` (milliseconds) as ``(0.02, 0.25)`` seconds; ``"100"`` as a fixed latency."""
    lo, _, hi = text.partition("-")
    try:
        low, high = float(lo), float(hi or lo)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN-MAX milliseconds, got {text!r}") from None
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError(f"expected 0 <= MIN <= MAX, got {text!r}")
    return low / 1000.0, high / 1000.0


def mqtt_settings_from_env(environ: Mapping[str, str]) -> MqttSettings:
    """Broker address, credentials and prefix from ``V2G_MQTT_URL`` and ``V2G_TOPIC_PREFIX``."""
    url = urlsplit(environ.get("V2G_MQTT_URL") or DEFAULT_MQTT_URL)
    if url.scheme not in {"mqtt", "tcp"}:
        raise ValueError(f"V2G_MQTT_URL: unsupported scheme {url.scheme!r} (use mqtt://)")
    return MqttSettings(
        host=url.hostname or "127.0.0.1",
        port=url.port or 1883,
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        topic_prefix=environ.get("V2G_TOPIC_PREFIX") or "v2g",
    )


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run the simulated fleet until SIGINT/SIGTERM."""
    try:
        settings = mqtt_settings_from_env(os.environ)
        behaviour = Behaviour(
            accept=args.accept,
            partial=args.partial,
            reject=args.reject,
            silent=args.silent,
            late=args.late,
            latency_s=args.latency_ms,
        )
    except ValueError as exc:
        log.error("simulate_bad_configuration", error=str(exc))
        return 2
    fleet = make_fleet(args.vehicles, args.site, seed=args.seed)
    asyncio.run(
        _serve(settings, args.site, fleet, behaviour, seed=args.seed, per_session=args.per_session)
    )
    return 0


async def _serve(
    settings: MqttSettings,
    site_id: str,
    vehicles: Sequence[Vehicle],
    behaviour: Behaviour,
    *,
    seed: int,
    per_session: int,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    delays = backoff_delays(settings.reconnect_initial_s, settings.reconnect_max_s, random.Random())
    while not stop.is_set():
        try:
            async with GatewayFleet(
                settings, site_id, vehicles, behaviour, seed=seed, vehicles_per_session=per_session
            ) as gateways:
                runner = asyncio.create_task(gateways.run(), name="gateway-fleet")
                stopper = asyncio.create_task(stop.wait(), name="gateway-fleet-stop")
                await asyncio.wait((runner, stopper), return_when=asyncio.FIRST_COMPLETED)
                for task in (runner, stopper):
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
                delays = backoff_delays(
                    settings.reconnect_initial_s, settings.reconnect_max_s, random.Random()
                )
        except (aiomqtt.MqttError, TimeoutError, OSError) as exc:
            delay = next(delays)
            log.warning("simulate_connection_lost", error=str(exc), retry_in_s=round(delay, 2))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await stop.wait()
