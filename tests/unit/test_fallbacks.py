"""Fallbacks: what each proposes for the residual, from a dispatch's state after a round."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch import BalancedFallback, Candidates, NoopFallback, ProbabilisticFallback
from dispatch.fallbacks import FallbackContext
from fleet import Vehicle
from tests.support import signal, vehicle


def _ctx(
    vs: list[Vehicle],
    ordered: list[float],
    acked: list[float],
    failed: list[bool],
    *,
    power_kw: float = 40.0,
    direction: str = "discharge",
) -> FallbackContext:
    sig = signal(power_kw=power_kw, direction=direction)
    cand = Candidates.build(sig, vs)
    o, a, f = np.array(ordered), np.array(acked), np.array(failed)
    return FallbackContext(
        signal=sig,
        candidates=cand,
        residual_kw=max(0.0, power_kw - a.sum()),
        ordered_kw=o,
        acknowledged_kw=a,
        may_receive=~f,
        responded=(a > 0) & ~f,
        round=1,
    )


def test_noop_proposes_nothing() -> None:
    """Noop leaves the assignment unchanged."""
    ctx = _ctx([vehicle("a")], [5.0], [0.0], [True])
    assert not NoopFallback().reallocate(ctx).any()


def test_balanced_uses_only_responders_above_30_pct_weighted_by_room_and_soc() -> None:
    """Balanced gives the residual to vehicles that said yes, proportional to room x SoC,
    skipping those below 30 % SoC, never the refusers or the never-ordered."""
    vs = [
        vehicle("yes-full", soc_pct=90.0),
        vehicle("yes-half", soc_pct=45.0),
        vehicle("yes-low", soc_pct=29.0, min_soc_pct=10.0),
        vehicle("refused", soc_pct=90.0),
        vehicle("idle", soc_pct=90.0),
    ]
    ctx = _ctx(
        vs, [5.0, 5.0, 5.0, 5.0, 0.0], [5.0, 5.0, 5.0, 0.0, 0.0], [0, 0, 0, 1, 0], power_kw=18.0
    )
    extra = BalancedFallback().reallocate(ctx)
    assert extra[2:].tolist() == [0.0, 0.0, 0.0]
    room = ctx.remaining_kw
    assert extra[0] / extra[1] == pytest.approx((room[0] * 0.90) / (room[1] * 0.45))
    assert extra.sum() <= ctx.residual_kw + 1e-9
    assert np.all(extra <= room + 1e-9)


def test_balanced_for_charge_favours_emptier_batteries() -> None:
    """For a charge, the SoC weight is (100 - SoC): the emptier responder takes more."""
    vs = [vehicle("empty", soc_pct=40.0), vehicle("fuller", soc_pct=80.0)]
    ctx = _ctx(vs, [2.0, 2.0], [2.0, 2.0], [False, False], power_kw=10.0, direction="charge")
    extra = BalancedFallback().reallocate(ctx)
    assert extra[0] > extra[1] > 0


def test_probabilistic_over_allocates_to_meet_the_expectation() -> None:
    """Expected delivery sum(p x) meets the residual; total ordered exceeds it, bounded."""
    vs = [vehicle(f"v{i}", availability=0.8) for i in range(10)]
    ctx = _ctx(vs, [8.0] + [0.0] * 9, [0.0] * 10, [True] + [False] * 9)
    fb = ProbabilisticFallback(max_overallocation=0.3)
    extra = fb.reallocate(ctx)
    p = fb.probabilities(ctx)
    assert extra[0] == 0.0  # the refuser gets nothing
    assert p @ extra == pytest.approx(ctx.residual_kw)
    assert ctx.residual_kw < extra.sum() <= 1.3 * ctx.residual_kw + 1e-9
    assert np.all(extra <= ctx.remaining_kw + 1e-9)


def test_probabilistic_prefers_reliable_vehicles_and_trusts_responders() -> None:
    """A vehicle that just acknowledged counts as near-certain and is used first."""
    vs = [vehicle("shaky", availability=0.5), vehicle("responder", availability=0.5)]
    ctx = _ctx(vs, [0.0, 2.0], [0.0, 2.0], [False, False], power_kw=6.0)
    extra = ProbabilisticFallback().reallocate(ctx)
    assert extra[1] > 0
    assert extra[1] >= extra[0]


@settings(max_examples=150, deadline=None)
@given(
    socs=st.lists(st.floats(0, 100), min_size=1, max_size=20),
    avail=st.floats(0.05, 1.0),
    frac=st.floats(0, 1),
    power=st.floats(1, 500),
    seed=st.integers(0, 1000),
)
def test_fallbacks_only_use_vehicles_that_may_take_more(
    socs: list[float], avail: float, frac: float, power: float, seed: int
) -> None:
    """No fallback orders power to a failed vehicle or beyond a vehicle's remaining room."""
    rng = np.random.default_rng(seed)
    vs = [vehicle(f"v{i}", soc_pct=s, availability=avail) for i, s in enumerate(socs)]
    n = len(vs)
    cap = Candidates.build(signal(power_kw=power), vs).capacity_kw
    ordered = cap * rng.random(n)
    failed = rng.random(n) < 0.3
    acked = np.where(failed, ordered * frac * (rng.random(n) < 0.5), ordered)
    ctx = _ctx(vs, ordered.tolist(), acked.tolist(), failed.tolist(), power_kw=power)
    for fb in (NoopFallback(), BalancedFallback(), ProbabilisticFallback()):
        extra = fb.reallocate(ctx)
        assert extra.shape == (n,)
        assert np.all(extra >= 0)
        assert np.all(extra[failed] == 0)
        assert np.all(extra <= ctx.remaining_kw + 1e-9)
        limit = 1.0 + getattr(fb, "max_overallocation", 0.0)
        assert extra.sum() <= limit * ctx.residual_kw + 1e-6
