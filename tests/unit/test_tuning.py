"""Weights, the outcome tuner, participation scores and the commitment ledger."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dispatch.commitments import CommitmentLedger
from dispatch.participation import ParticipationTracker
from dispatch.tuner import OutcomeTuner
from dispatch.weights import DEFAULT_WEIGHTS, FEATURES, Weights, WeightTable

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
AVAIL = FEATURES.index("availability")
SOC = FEATURES.index("soc")


def _hours(h: float) -> datetime:
    return T0 + timedelta(hours=h)


def _separating(feature: int, successes: int = 3, failures: int = 3) -> tuple[np.ndarray, ...]:
    """Features at 0.5 except ``feature``: 1 for every success, 0 for every failure."""
    n = successes + failures
    features = np.full((n, len(FEATURES)), 0.5)
    features[:successes, feature] = 1.0
    features[successes:, feature] = 0.0
    success = np.array([1.0] * successes + [0.0] * failures)
    return features, success


# --- weights ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        (-0.1, 0.2, 0.2, 0.2, 0.2),
        (0, 0, 0, 0, 0),
        (math.nan, 0.2, 0.2, 0.2, 0.2),
        (math.inf, 0, 0, 0, 0),
    ],
)
def test_weights_refuse_negative_zero_or_non_finite(values: tuple[float, ...]) -> None:
    """Weights must be finite, non-negative, and not all zero."""
    with pytest.raises(ValueError, match="weight"):
        Weights(*values)


def test_weights_normalised_keep_proportions_and_sum_to_one() -> None:
    """normalised() scales every weight by the same factor so they sum to 1."""
    w = Weights(soc=1, capacity=1, availability=2, health=0, participation=0).normalised()
    assert w.as_array() == pytest.approx([0.25, 0.25, 0.5, 0.0, 0.0])
    assert w.as_array().sum() == pytest.approx(1.0)


def test_weights_array_round_trip_in_feature_order() -> None:
    """as_array and from_array use the FEATURES order."""
    w = Weights(soc=0.1, capacity=0.2, availability=0.3, health=0.15, participation=0.25)
    assert list(w.as_array()) == [0.1, 0.2, 0.3, 0.15, 0.25]
    assert Weights.from_array(w.as_array()) == w


def test_weight_table_falls_back_to_the_default_for_unknown_types() -> None:
    """An unknown signal type gets the generic weights; known ones get their own, normalised."""
    table = WeightTable()
    assert table.get("never_seen") == Weights()
    peak = table.get("peak_shaving")
    assert peak == DEFAULT_WEIGHTS["peak_shaving"].normalised()
    assert peak.as_array().sum() == pytest.approx(1.0)


def test_weight_table_normalises_custom_entries_and_default() -> None:
    """Entries and the default are stored normalised; set() normalises too."""
    table = WeightTable({"x": Weights(2, 2, 2, 2, 2)}, default=Weights(4, 0, 0, 0, 0))
    assert table.get("x") == Weights()
    assert table.get("unknown") == Weights(1, 0, 0, 0, 0)
    table.set("y", Weights(0, 0, 3, 0, 1))
    assert table.get("y").as_array() == pytest.approx([0, 0, 0.75, 0, 0.25])
    copy = table.as_dict()
    copy.pop("x")
    assert table.get("x") == Weights()


# --- outcome tuner ------------------------------------------------------------------------------


def test_separating_feature_gains_weight_by_the_documented_step() -> None:
    """Availability 1 for successes and 0 for failures raises its weight; the sum stays 1."""
    table, tuner = WeightTable(), OutcomeTuner(learning_rate=0.05)
    features, success = _separating(AVAIL)
    step = tuner.tune(table, "generic", features, success)
    assert step is not None
    # evidence: availability 1 - 0 = 1, others 0.5 - 0.5 = 0
    assert step.evidence == {name: (1.0 if name == "availability" else 0.0) for name in FEATURES}
    # 0.2 + 0.05 = 0.25 (sum 1.05); the projection shifts every weight by 0.05 / 5 = 0.01
    expected = [0.19] * 5
    expected[AVAIL] = 0.24
    after = table.get("generic").as_array()
    assert after == pytest.approx(expected)
    assert after.sum() == pytest.approx(1.0)
    assert step.after == table.get("generic")
    assert step.before == Weights()
    assert step.samples == 6
    assert step.signal_type == "generic"


def test_partial_successes_weight_the_evidence() -> None:
    """A half success counts half for each side of the evidence."""
    table, tuner = WeightTable(), OutcomeTuner(learning_rate=0.05)
    features = np.zeros((5, len(FEATURES)))
    features[:3, AVAIL] = 1.0
    success = np.array([1.0, 1.0, 0.5, 0.0, 0.0])
    step = tuner.tune(table, "generic", features, success)
    assert step is not None
    # successes: (1 + 1 + 0.5) / 2.5 = 1.0; failures: (0.5 * 1) / 2.5 = 0.2
    assert step.evidence["availability"] == pytest.approx(0.8)
    # 0.2 + 0.05 * 0.8 = 0.24 (sum 1.04); projected: every weight shifted down by 0.008
    expected = [0.192] * 5
    expected[AVAIL] = 0.232
    assert table.get("generic").as_array() == pytest.approx(expected)


def test_misleading_feature_loses_weight() -> None:
    """A feature high among failures and low among successes loses weight."""
    table, tuner = WeightTable(), OutcomeTuner(learning_rate=0.05)
    features, success = _separating(SOC)
    success = 1.0 - success  # the vehicles with soc 1 now fail
    step = tuner.tune(table, "generic", features, success)
    assert step is not None
    assert step.evidence["soc"] == -1.0
    # 0.2 - 0.05 = 0.15 (sum 0.95); projected: every weight shifted up by 0.01
    assert table.get("generic").soc == pytest.approx(0.16)


def test_only_the_tuned_signal_type_changes() -> None:
    """Tuning one signal type leaves the others and the default untouched."""
    table, tuner = WeightTable(), OutcomeTuner()
    before = table.as_dict()
    tuner.tune(table, "peak_shaving", *_separating(AVAIL))
    after = table.as_dict()
    assert after["peak_shaving"] != before["peak_shaving"]
    assert {k: v for k, v in after.items() if k != "peak_shaving"} == {
        k: v for k, v in before.items() if k != "peak_shaving"
    }
    assert table.get("unknown") == Weights()


@pytest.mark.parametrize(
    "case",
    ["too_few_samples", "all_successes", "all_failures"],
)
def test_no_update_without_enough_mixed_evidence(case: str) -> None:
    """Fewer than min_samples, all successes or all failures: None and nothing changes."""
    table, tuner = WeightTable(), OutcomeTuner(min_samples=5)
    features, success = _separating(AVAIL, successes=3, failures=3)
    if case == "too_few_samples":
        features, success = features[1:5], success[1:5]  # 2 successes, 2 failures
    elif case == "all_successes":
        success = np.ones_like(success)
    else:
        success = np.zeros_like(success)
    before = table.as_dict()
    assert tuner.tune(table, "generic", features, success) is None
    assert table.as_dict() == before
    assert table.get("generic") == Weights()
    assert len(tuner.history) == 0


def test_history_keeps_the_latest_steps_and_explains_every_feature() -> None:
    """Each step is kept (up to ``history``) and explain() names every feature."""
    table, tuner = WeightTable(), OutcomeTuner(history=2)
    steps = [tuner.tune(table, "generic", *_separating(AVAIL)) for _ in range(3)]
    assert list(tuner.history) == steps[1:]
    assert steps[0] is not None
    text = steps[0].explain()
    for name in FEATURES:
        assert name in text
    assert "availability 0.200->0.240 (evidence +1.000)" in text
    assert "soc 0.200->0.190 (evidence +0.000)" in text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"learning_rate": 0.0},
        {"learning_rate": -0.1},
        {"learning_rate": 0.6},
        {"min_weight": -0.01},
        {"min_weight": 0.6, "max_weight": 0.6},
        {"max_weight": 1.1},
        {"min_weight": 0.25, "max_weight": 0.6},
        {"min_weight": 0.0, "max_weight": 0.15},
    ],
)
def test_tuner_rejects_bad_parameters(kwargs: dict[str, Any]) -> None:
    """Learning rate outside (0, 0.5] or bounds that admit no weights summing to 1 raise."""
    with pytest.raises(ValueError, match=r"learning_rate|weight"):
        OutcomeTuner(**kwargs)


def _steps() -> st.SearchStrategy[list[tuple[np.ndarray, np.ndarray]]]:
    unit = st.floats(0.0, 1.0)
    step = st.integers(5, 10).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, (n, len(FEATURES)), elements=unit),
            arrays(np.float64, (n,), elements=unit),
        )
    )
    return st.lists(step, min_size=1, max_size=50)


@settings(max_examples=100, deadline=None)
@given(steps=_steps(), start=st.sampled_from(sorted(DEFAULT_WEIGHTS)))
def test_weights_stay_bounded_and_normalised(
    steps: list[tuple[np.ndarray, np.ndarray]], start: str
) -> None:
    """After any sequence of updates every weight lies in [min, max] and they sum to 1."""
    table, tuner = WeightTable(), OutcomeTuner()
    for features, success in steps:
        tuner.tune(table, start, features, success)
        w = table.get(start).as_array()
        assert w.sum() == pytest.approx(1.0)
        assert np.all(w >= tuner.min_weight - 1e-9)
        assert np.all(w <= tuner.max_weight + 1e-9)


def _push_first_feature() -> tuple[np.ndarray, np.ndarray]:
    """Evidence +1 for the first feature and -1 for every other one."""
    features = np.array([[1.0, 0, 0, 0, 0]] * 5 + [[0.0, 1, 1, 1, 1]] * 5)
    success = np.array([1.0] * 5 + [0.0] * 5)
    return features, success


def test_a_weight_at_the_upper_bound_stays_there() -> None:
    """A weight already at max_weight never ends a step above it."""
    table = WeightTable({"x": Weights(0.6, 0.1, 0.1, 0.1, 0.1)})
    tuner = OutcomeTuner(learning_rate=0.05, min_weight=0.02, max_weight=0.6)
    tuner.tune(table, "x", *_push_first_feature())
    assert table.get("x").soc <= 0.6 + 1e-9


def test_one_step_moves_each_weight_by_at_most_the_learning_rate() -> None:
    """No weight moves by more than learning_rate in one step."""
    table, tuner = WeightTable(), OutcomeTuner(learning_rate=0.05)
    step = tuner.tune(table, "generic", *_push_first_feature())
    assert step is not None
    moved = np.abs(step.after.as_array() - step.before.as_array())
    assert np.all(moved <= 0.05 + 1e-12)


# --- participation ------------------------------------------------------------------------------


def test_participation_score_halves_every_half_life() -> None:
    """A score decays by half per half-life of signal time."""
    tracker = ParticipationTracker(half_life_h=24.0)
    tracker.set("a", "ev-1", 8.0, T0)
    assert tracker.score("a", "ev-1", T0) == 8.0
    assert tracker.score("a", "ev-1", _hours(24)) == pytest.approx(4.0)
    assert tracker.score("a", "ev-1", _hours(48)) == pytest.approx(2.0)
    assert tracker.score("a", "ev-1", _hours(12)) == pytest.approx(8.0 / math.sqrt(2))


def test_participation_record_adds_one_to_the_decayed_score() -> None:
    """record() sets the score to the decayed value plus 1 at the record time."""
    tracker = ParticipationTracker(half_life_h=2.0)
    tracker.record("a", ["ev-1", "ev-2"], T0)
    assert tracker.score("a", "ev-1", T0) == 1.0
    tracker.record("a", ["ev-1"], _hours(2))
    assert tracker.score("a", "ev-1", _hours(2)) == pytest.approx(1.5)
    assert tracker.score("a", "ev-1", _hours(4)) == pytest.approx(0.75)
    assert tracker.score("a", "ev-2", _hours(4)) == pytest.approx(0.25)


def test_participation_scores_are_per_site_and_vehicle() -> None:
    """The same vehicle id at another site, or another vehicle, starts at 0."""
    tracker = ParticipationTracker()
    tracker.record("a", ["ev-1"], T0)
    assert tracker.score("b", "ev-1", T0) == 0.0
    assert tracker.score("a", "ev-2", T0) == 0.0
    assert tracker.score("a", "ev-1", T0) == 1.0


def test_participation_does_not_grow_backwards_in_time() -> None:
    """Asking for a time before the last update returns the stored value, not more."""
    tracker = ParticipationTracker()
    tracker.set("a", "ev-1", 3.0, T0)
    assert tracker.score("a", "ev-1", _hours(-5)) == 3.0


def test_participation_rejects_negative_scores_and_half_lives() -> None:
    """set() refuses a negative score; the half-life must be positive."""
    tracker = ParticipationTracker()
    with pytest.raises(ValueError, match=">= 0"):
        tracker.set("a", "ev-1", -0.5, T0)
    assert tracker.score("a", "ev-1", T0) == 0.0
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="half_life_h"):
            ParticipationTracker(half_life_h=bad)


@settings(max_examples=100, deadline=None)
@given(
    value=st.floats(0.0, 1e6),
    half_life=st.floats(0.1, 1000.0),
    first=st.floats(0.0, 1000.0),
    extra=st.floats(0.0, 1000.0),
)
def test_participation_never_increases_without_a_record(
    value: float, half_life: float, first: float, extra: float
) -> None:
    """Without record() a score only decays, and never goes below 0."""
    tracker = ParticipationTracker(half_life_h=half_life)
    tracker.set("a", "ev-1", value, T0)
    earlier = tracker.score("a", "ev-1", _hours(first))
    later = tracker.score("a", "ev-1", _hours(first + extra))
    assert 0.0 <= later <= earlier <= value


# --- commitments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start_h", "end_h", "overlaps"),
    [
        (0.5, 1.5, True),  # straddles the end
        (-1.0, 0.5, True),  # straddles the start
        (-1.0, 2.0, True),  # contains the booking
        (0.25, 0.75, True),  # inside the booking
        (0.0, 1.0, True),  # same period
        (1.0, 2.0, False),  # starts when the booking ends
        (-1.0, 0.0, False),  # ends when the booking starts
        (2.0, 3.0, False),  # later
    ],
)
def test_commitments_detect_overlapping_periods(
    start_h: float, end_h: float, overlaps: bool
) -> None:
    """A booking [start, end) overlaps a period unless they only touch or are disjoint."""
    ledger = CommitmentLedger()
    ledger.reserve("a", ["ev-1"], "sig-1", _hours(0), _hours(1))
    assert ledger.is_committed("a", "ev-1", _hours(start_h), _hours(end_h)) is overlaps


def test_commitments_are_per_site_and_vehicle() -> None:
    """A booking does not commit another vehicle or the same id at another site."""
    ledger = CommitmentLedger()
    ledger.reserve("a", ["ev-1"], "sig-1", _hours(0), _hours(1))
    assert not ledger.is_committed("a", "ev-2", _hours(0), _hours(1))
    assert not ledger.is_committed("b", "ev-1", _hours(0), _hours(1))


def test_reserve_is_idempotent_per_signal() -> None:
    """Reserving a vehicle twice for one signal keeps a single booking."""
    ledger = CommitmentLedger()
    ledger.reserve("a", ["ev-1", "ev-2"], "sig-1", _hours(0), _hours(1))
    ledger.reserve("a", iter(["ev-1"]), "sig-1", _hours(0), _hours(1))
    assert len(ledger) == 2
    ledger.reserve("a", ["ev-1"], "sig-2", _hours(2), _hours(3))
    assert len(ledger) == 3


def test_release_drops_only_that_signals_booking() -> None:
    """release() removes the named signal's bookings for the named vehicles only."""
    ledger = CommitmentLedger()
    ledger.reserve("a", ["ev-1", "ev-2"], "sig-1", _hours(0), _hours(1))
    ledger.reserve("a", ["ev-1"], "sig-2", _hours(2), _hours(3))
    ledger.release("a", ["ev-1"], "sig-1")
    assert not ledger.holds("a", "ev-1", "sig-1")
    assert ledger.holds("a", "ev-1", "sig-2")
    assert ledger.holds("a", "ev-2", "sig-1")
    assert not ledger.is_committed("a", "ev-1", _hours(0), _hours(1))
    assert len(ledger) == 2
    ledger.release("a", ["ev-1", "ev-9"], "sig-unknown")
    assert len(ledger) == 2
    ledger.release("a", ["ev-1"], "sig-2")
    ledger.release("a", ["ev-2"], "sig-1")
    assert len(ledger) == 0


def test_prune_drops_ended_bookings_and_counts_them() -> None:
    """prune(now) forgets bookings whose end is at or before now and returns how many."""
    ledger = CommitmentLedger()
    ledger.reserve("a", ["ev-1"], "sig-1", _hours(0), _hours(1))
    ledger.reserve("a", ["ev-1", "ev-2"], "sig-2", _hours(1), _hours(2))
    ledger.reserve("b", ["ev-3"], "sig-3", _hours(2), _hours(4))
    assert ledger.prune(_hours(2)) == 3
    assert len(ledger) == 1
    assert ledger.holds("b", "ev-3", "sig-3")
    assert not ledger.holds("a", "ev-1", "sig-1")
    assert ledger.prune(_hours(2)) == 0
    assert ledger.prune(_hours(5)) == 1
    assert len(ledger) == 0


def test_holds_names_the_signal_a_vehicle_is_booked_for() -> None:
    """holds() is True only for the signal the vehicle was reserved for."""
    ledger = CommitmentLedger()
    assert not ledger.holds("a", "ev-1", "sig-1")
    ledger.reserve("a", ["ev-1"], "sig-1", _hours(0), _hours(1))
    assert ledger.holds("a", "ev-1", "sig-1")
    assert not ledger.holds("a", "ev-1", "sig-2")
    assert not ledger.holds("a", "ev-2", "sig-1")
