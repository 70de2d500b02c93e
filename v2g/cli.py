"""The ``v2g`` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from v2g import cli_allocate, cli_db, cli_plan, cli_schedule, cli_service, cli_simulate
from v2g.logs import configure_logging


def _demo(args: argparse.Namespace) -> int:
    # imported here: keeps `v2g --help` fast
    from v2g.demo import run_demo, summary  # noqa: PLC0415
    from v2g.demo_mqtt import DemoError, run_mqtt_demo  # noqa: PLC0415
    from v2g.settings import SettingsError, load_settings  # noqa: PLC0415

    options = {
        "seed": args.seed,
        "ack_timeout_s": args.ack_timeout,
        "max_latency_s": args.latency_ms / 1000.0,
    }
    try:
        if args.in_process:
            runs = asyncio.run(run_demo(args.vehicles, **options))
        else:
            broker = load_settings().mqtt_settings() if os.environ.get("V2G_MQTT_URL") else None
            runs = asyncio.run(run_mqtt_demo(args.vehicles, broker=broker, **options))
    except (DemoError, SettingsError) as exc:
        sys.stderr.write(f"v2g demo: {exc}\n")
        return 1
    sys.stdout.write("\n" + summary(runs) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="v2g", description="V2G dispatch for EV fleets")
    parser.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING, ERROR")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        help="dispatch signals to a simulated fleet over MQTT (an embedded broker unless "
        "V2G_MQTT_URL is set), print a summary",
    )
    demo.add_argument("--vehicles", type=int, default=300, help="fleet size (default 300)")
    demo.add_argument("--seed", type=int, default=7, help="simulation seed (default 7)")
    demo.add_argument(
        "--ack-timeout", type=float, default=1.0, help="seconds to wait for acks (default 1)"
    )
    demo.add_argument(
        "--latency-ms",
        type=float,
        default=250.0,
        help="slowest gateway answer in milliseconds (default 250)",
    )
    demo.add_argument(
        "--in-process",
        action="store_true",
        help="no MQTT: the service's dispatch manager talks to the fleet directly",
    )
    demo.set_defaults(func=_demo)
    cli_schedule.register(sub)
    cli_allocate.register(sub)
    cli_simulate.register(sub)
    cli_service.register(sub)
    cli_db.register(sub)
    cli_plan.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``v2g`` console script."""
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, json=True if args.log_json else None)
    code: int = args.func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
