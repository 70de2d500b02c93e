"""The command line: the demo runs end to end and prints its summary table."""

from __future__ import annotations

import pytest

from v2g.cli import main


def test_demo_dispatches_with_every_pair_and_prints_a_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`v2g demo` sends one signal per dispatcher x fallback and tabulates the outcomes."""
    assert main(["demo", "--vehicles", "40", "--ack-timeout", "0.05", "--latency-ms", "5"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("dispatcher  fallback") :].splitlines()
    rows = [line.split() for line in table[2:]]
    assert {(r[0], r[1]) for r in rows} == {
        (d, f) for d in ("equal", "smart", "lp") for f in ("noop", "balanced", "probabilistic")
    }
    assert all(r[2] in {"fulfilled", "partial", "failed"} for r in rows)
    assert any(r[2] != "failed" for r in rows)


def test_unknown_command_exits_with_usage() -> None:
    """An unknown subcommand is an argparse usage error (exit 2)."""
    with pytest.raises(SystemExit) as exc:
        main(["teleport"])
    assert exc.value.code == 2
