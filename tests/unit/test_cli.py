"""The command line: the demo runs end to end and prints its summary table."""

from __future__ import annotations

import sys

import pytest

from v2g.cli import main

PAIRS = {(d, f) for d in ("equal", "smart", "lp") for f in ("noop", "balanced", "probabilistic")}


def summary_rows(out: str) -> list[list[str]]:
    """The rows of the demo's closing table."""
    table = out[out.index("dispatcher  fallback") :].splitlines()
    return [line.split() for line in table[2:]]


def test_in_process_demo_dispatches_with_every_pair_and_prints_a_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`v2g demo --in-process` sends one signal per dispatcher x fallback, no broker involved."""
    argv = ["demo", "--in-process", "--vehicles", "40", "--ack-timeout", "0.05"]
    assert main([*argv, "--latency-ms", "5"]) == 0
    rows = summary_rows(capsys.readouterr().out)
    assert {(r[0], r[1]) for r in rows} == PAIRS
    assert all(r[2] in {"fulfilled", "partial", "failed"} for r in rows)
    assert any(r[2] != "failed" for r in rows)


def test_demo_runs_over_an_embedded_broker_without_any_setup(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`v2g demo` with no V2G_MQTT_URL starts its own broker, the service and the gateways,
    shows a progress line per signal and the summary table."""
    monkeypatch.delenv("V2G_MQTT_URL", raising=False)
    argv = ["demo", "--vehicles", "30", "--ack-timeout", "0.3", "--latency-ms", "20"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "embedded MQTT 3.1.1 broker" in out
    assert out.count(" kW in ") == len(PAIRS)  # one live progress line per signal
    rows = summary_rows(out)
    assert {(r[0], r[1]) for r in rows} == PAIRS
    assert all(r[2] in {"fulfilled", "partial"} for r in rows)
    assert all(int(r[6]) > 0 for r in rows)  # every signal reached vehicles over MQTT


def test_unknown_command_exits_with_usage() -> None:
    """An unknown subcommand is an argparse usage error (exit 2)."""
    with pytest.raises(SystemExit) as exc:
        main(["teleport"])
    assert exc.value.code == 2


def test_demo_without_amqtt_says_how_to_get_a_broker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the optional amqtt and without V2G_MQTT_URL, the demo exits 1 naming the fixes."""
    monkeypatch.delenv("V2G_MQTT_URL", raising=False)
    monkeypatch.setitem(sys.modules, "amqtt.broker", None)  # import amqtt.broker -> ImportError
    monkeypatch.delitem(sys.modules, "v2g.embedded_broker", raising=False)
    assert main(["demo", "--vehicles", "5", "--ack-timeout", "0.05"]) == 1
    err = capsys.readouterr().err
    assert "amqtt" in err
    assert "V2G_MQTT_URL" in err
    assert "--in-process" in err
