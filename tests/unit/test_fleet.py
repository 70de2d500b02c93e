"""The vehicle model, its usable power, the fleet registry and the static fleet."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fleet import Direction, FleetRegistry, StaticFleet, Vehicle

T0 = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def _vehicle(**overrides: Any) -> Vehicle:
    fields: dict[str, Any] = {
        "vehicle_id": "ev-01",
        "site_id": "depot-a",
        "soc_pct": 50.0,
        "battery_kwh": 75.0,
        "max_charge_kw": 11.0,
        "max_discharge_kw": 10.0,
    }
    fields.update(overrides)
    return Vehicle(**fields)


# --- validation -------------------------------------------------------------------------------


def test_valid_vehicle_keeps_its_fields_and_defaults() -> None:
    """A valid vehicle keeps its values and gets the documented defaults."""
    v = _vehicle()
    assert (v.soc_pct, v.battery_kwh, v.max_charge_kw, v.max_discharge_kw) == (50, 75, 11, 10)
    assert v.plugged_in
    assert v.online
    assert (v.availability, v.degradation) == (1.0, 0.0)
    assert (v.min_soc_pct, v.max_soc_pct) == (30.0, 100.0)
    assert v.updated_at is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("soc_pct", -0.1),
        ("soc_pct", 100.1),
        ("min_soc_pct", -1.0),
        ("max_soc_pct", 101.0),
        ("battery_kwh", 0.0),
        ("battery_kwh", -10.0),
        ("max_charge_kw", -0.1),
        ("max_discharge_kw", -0.1),
        ("availability", -0.01),
        ("availability", 1.01),
        ("degradation", -0.01),
        ("degradation", 1.01),
    ],
)
def test_out_of_range_values_are_refused(field: str, value: float) -> None:
    """SoC outside 0-100, non-positive battery, negative power, fractions outside [0, 1]."""
    with pytest.raises(ValidationError, match=field):
        _vehicle(**{field: value})


@pytest.mark.parametrize(
    "field",
    [
        "soc_pct",
        "battery_kwh",
        "max_charge_kw",
        "max_discharge_kw",
        "availability",
        "degradation",
        "min_soc_pct",
    ],
)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused(field: str, value: float) -> None:
    """No numeric field accepts NaN or an infinity."""
    with pytest.raises(ValidationError):
        _vehicle(**{field: value})


@pytest.mark.parametrize(("low", "high"), [(50.0, 50.0), (80.0, 20.0)])
def test_min_soc_must_be_below_max_soc(low: float, high: float) -> None:
    """A SoC window with min_soc_pct >= max_soc_pct is refused."""
    with pytest.raises(ValidationError, match="must be below max_soc_pct"):
        _vehicle(min_soc_pct=low, max_soc_pct=high)


@pytest.mark.parametrize("field", ["vehicle_id", "site_id"])
@pytest.mark.parametrize(
    "bad", ["ev+1", "ev#", "#", "+", "depot/a", "/", "", "ev 1", "ev-1\n", "x" * 65]
)
def test_identifiers_that_would_break_mqtt_topics_are_refused(field: str, bad: str) -> None:
    """Identifiers with wildcards, separators, whitespace, or empty or too long are refused."""
    with pytest.raises(ValidationError):
        _vehicle(**{field: bad})


def test_identifiers_allow_letters_digits_and_safe_punctuation() -> None:
    """Letters, digits, '_', '.', ':' and '-' are allowed, up to 64 characters."""
    v = _vehicle(vehicle_id="EV_01.a:b-c", site_id="s" * 64)
    assert v.vehicle_id == "EV_01.a:b-c"


def test_vehicle_is_frozen_and_forbids_unknown_fields() -> None:
    """A vehicle cannot be mutated and refuses fields it does not declare."""
    v = _vehicle()
    with pytest.raises(ValidationError):
        v.soc_pct = 60.0  # type: ignore[misc]
    with pytest.raises(ValidationError, match="colour"):
        _vehicle(colour="red")


def test_naive_timestamps_are_refused() -> None:
    """updated_at must carry a time zone."""
    with pytest.raises(ValidationError):
        _vehicle(updated_at=datetime(2025, 1, 1, 12, 0))


# --- headroom and effective capacity -------------------------------------------------------------


def test_headroom_in_both_directions() -> None:
    """Headroom is the derated energy between the SoC and the limit in that direction."""
    v = _vehicle(soc_pct=50.0, min_soc_pct=30.0, max_soc_pct=90.0, degradation=0.1)
    # discharge: (50 - 30) / 100 * 75 * 0.9 = 13.5; charge: (90 - 50) / 100 * 75 * 0.9 = 27.0
    assert v.headroom_kwh(Direction.DISCHARGE) == pytest.approx(13.5)
    assert v.headroom_kwh(Direction.CHARGE) == pytest.approx(27.0)


def test_headroom_is_zero_beyond_the_limit() -> None:
    """A SoC below min_soc has no discharge headroom (never negative)."""
    v = _vehicle(soc_pct=20.0, min_soc_pct=30.0)
    assert v.headroom_kwh(Direction.DISCHARGE) == 0.0
    # charge: (100 - 20) / 100 * 75 = 60.0
    assert v.headroom_kwh(Direction.CHARGE) == pytest.approx(60.0)


def test_effective_capacity_power_limited_worked_example() -> None:
    """75 kWh, SoC 50, min 30, 10 kW, degradation 0.1, availability 0.8, 0.5 h -> 7.2 kW."""
    v = _vehicle(soc_pct=50.0, max_discharge_kw=10.0, degradation=0.1, availability=0.8)
    rated = 10.0 * (1 - 0.1)  # 9.0 kW
    energy = (50 - 30) / 100 * 75 * (1 - 0.1) / 0.5  # 13.5 kWh over 0.5 h = 27.0 kW
    expected = min(rated, energy) * 0.8
    assert expected == pytest.approx(7.2)
    assert v.effective_capacity(Direction.DISCHARGE, 0.5) == pytest.approx(7.2)


def test_effective_capacity_energy_limited_discharge() -> None:
    """Little energy above min_soc caps the power at headroom / duration."""
    v = _vehicle(soc_pct=35.0, battery_kwh=60.0, max_discharge_kw=11.0)
    # headroom (35 - 30) / 100 * 60 = 3.0 kWh
    assert v.effective_capacity(Direction.DISCHARGE, 1.0) == pytest.approx(3.0)
    assert v.effective_capacity(Direction.DISCHARGE, 2.0) == pytest.approx(1.5)
    # a short order is power-limited again: 3.0 / 0.25 = 12 > 11
    assert v.effective_capacity(Direction.DISCHARGE, 0.25) == pytest.approx(11.0)


def test_effective_capacity_charge_uses_charge_rating_and_max_soc() -> None:
    """A charge order uses max_charge_kw and the room below max_soc_pct."""
    v = _vehicle(
        soc_pct=80.0,
        battery_kwh=50.0,
        max_charge_kw=7.4,
        max_soc_pct=90.0,
        degradation=0.2,
        availability=0.5,
    )
    # rated 7.4 * 0.8 = 5.92 kW; headroom 0.10 * 50 * 0.8 = 4.0 kWh / 0.25 h = 16 kW
    assert v.effective_capacity(Direction.CHARGE, 0.25) == pytest.approx(5.92 * 0.5)
    # over 1 h the energy binds: 4.0 kW * 0.5 = 2.0
    assert v.effective_capacity(Direction.CHARGE, 1.0) == pytest.approx(2.0)


def test_effective_capacity_without_duration_ignores_the_energy_limit() -> None:
    """Without a duration any headroom at all gives the derated, availability-scaled power."""
    v = _vehicle(soc_pct=30.5, degradation=0.1, availability=0.8)
    assert v.effective_capacity(Direction.DISCHARGE) == pytest.approx(10.0 * 0.9 * 0.8)


@pytest.mark.parametrize(
    "overrides", [{"online": False}, {"plugged_in": False}, {"online": False, "plugged_in": False}]
)
@pytest.mark.parametrize("direction", list(Direction))
def test_effective_capacity_is_zero_when_offline_or_unplugged(
    overrides: dict[str, bool], direction: Direction
) -> None:
    """An offline or unplugged vehicle has no usable power in either direction."""
    v = _vehicle(**overrides)
    assert v.effective_capacity(direction, 1.0) == 0.0
    assert v.effective_capacity(direction) == 0.0


@pytest.mark.parametrize(
    ("overrides", "direction"),
    [
        ({"soc_pct": 30.0}, Direction.DISCHARGE),
        ({"soc_pct": 10.0}, Direction.DISCHARGE),
        ({"soc_pct": 100.0}, Direction.CHARGE),
        ({"soc_pct": 90.0, "max_soc_pct": 80.0}, Direction.CHARGE),
    ],
)
def test_effective_capacity_is_zero_at_the_soc_limit(
    overrides: dict[str, float], direction: Direction
) -> None:
    """At or beyond the SoC limit in the order's direction there is no usable power."""
    v = _vehicle(**overrides)
    assert v.effective_capacity(direction, 1.0) == 0.0
    assert v.effective_capacity(direction) == 0.0


def test_effective_capacity_is_zero_with_zero_availability_or_full_degradation() -> None:
    """Availability 0 or a fully degraded battery gives no usable power."""
    assert _vehicle(availability=0.0).effective_capacity(Direction.DISCHARGE, 1.0) == 0.0
    assert _vehicle(degradation=1.0).effective_capacity(Direction.DISCHARGE, 1.0) == 0.0


@pytest.mark.parametrize("duration_h", [0.0, -0.5])
def test_effective_capacity_rejects_non_positive_duration(duration_h: float) -> None:
    """A duration <= 0 h is an error, not zero power."""
    with pytest.raises(ValueError, match="duration_h must be finite and > 0"):
        _vehicle().effective_capacity(Direction.DISCHARGE, duration_h)


def test_effective_capacity_rejects_nan_duration() -> None:
    """A NaN duration is refused like a non-positive one."""
    v = _vehicle(soc_pct=31.0, battery_kwh=60.0, max_discharge_kw=7.0)  # 0.6 kWh above the floor
    with pytest.raises(ValueError, match="duration_h"):
        v.effective_capacity(Direction.DISCHARGE, math.nan)


_fraction = st.floats(0.0, 1.0)


@st.composite
def vehicles(draw: st.DrawFn) -> Vehicle:
    """Any valid vehicle, online and plugged in."""
    low, high = sorted(draw(st.lists(st.floats(0.0, 100.0), min_size=2, max_size=2, unique=True)))
    return Vehicle(
        vehicle_id="ev-1",
        site_id="site-1",
        soc_pct=draw(st.floats(0.0, 100.0)),
        battery_kwh=draw(st.floats(0.1, 200.0)),
        max_charge_kw=draw(st.floats(0.0, 350.0)),
        max_discharge_kw=draw(st.floats(0.0, 350.0)),
        availability=draw(_fraction),
        degradation=draw(_fraction),
        min_soc_pct=low,
        max_soc_pct=high,
    )


@settings(max_examples=150, deadline=None)
@given(
    v=vehicles(),
    direction=st.sampled_from(list(Direction)),
    duration_h=st.none() | st.floats(1e-3, 48.0),
)
def test_effective_capacity_stays_within_rating_and_soc_window(
    v: Vehicle, direction: Direction, duration_h: float | None
) -> None:
    """Capacity lies in [0, rated kW]; a full-duration order never crosses the SoC limit."""
    rated = v.max_discharge_kw if direction is Direction.DISCHARGE else v.max_charge_kw
    capacity = v.effective_capacity(direction, duration_h)
    assert 0.0 <= capacity <= rated
    if duration_h is not None and v.availability > 0:
        delivered_kwh = capacity * duration_h / v.availability
        assert delivered_kwh <= v.headroom_kwh(direction) + 1e-9


# --- registry ---------------------------------------------------------------------------------


def test_upsert_reports_new_and_changed_states() -> None:
    """upsert is True for a new or changed vehicle and False for an identical state."""
    reg = FleetRegistry()
    assert reg.upsert(_vehicle(updated_at=T0)) is True
    assert reg.upsert(_vehicle(updated_at=T0)) is False
    later = _vehicle(soc_pct=60.0, updated_at=T0 + timedelta(minutes=1))
    assert reg.upsert(later) is True
    assert reg.get("depot-a", "ev-01") == later


def test_older_state_never_replaces_a_newer_one() -> None:
    """A state with an older updated_at is ignored and reported unchanged."""
    reg = FleetRegistry()
    newer = _vehicle(soc_pct=60.0, updated_at=T0)
    reg.upsert(newer)
    assert reg.upsert(_vehicle(soc_pct=40.0, updated_at=T0 - timedelta(seconds=1))) is False
    assert reg.get("depot-a", "ev-01") == newer


def test_set_online_updates_a_known_vehicle_only() -> None:
    """set_online flips the flag of a known vehicle and is False for an unknown one."""
    reg = FleetRegistry()
    reg.upsert(_vehicle(soc_pct=42.0))
    assert reg.set_online("depot-a", "ev-01", False) is True
    state = reg.get("depot-a", "ev-01")
    assert state is not None
    assert state.online is False
    assert state.soc_pct == 42.0
    assert reg.set_online("depot-a", "ev-99", False) is False
    assert reg.set_online("depot-z", "ev-01", False) is False
    assert reg.get("depot-a", "ev-99") is None


def test_remove_forgets_a_vehicle() -> None:
    """remove is True once for a known vehicle and then False."""
    reg = FleetRegistry()
    reg.upsert(_vehicle())
    assert reg.remove("depot-a", "ev-01") is True
    assert reg.remove("depot-a", "ev-01") is False
    assert reg.get("depot-a", "ev-01") is None
    assert len(reg) == 0


async def test_registry_indexes_vehicles_by_site() -> None:
    """len, iteration, sites() and vehicles(site) reflect the vehicles per site."""
    reg = FleetRegistry()
    a1, a2 = _vehicle(vehicle_id="ev-1"), _vehicle(vehicle_id="ev-2")
    b1 = _vehicle(vehicle_id="ev-1", site_id="depot-b")
    for v in (a1, a2, b1):
        reg.upsert(v)
    assert len(reg) == 3
    assert sorted(reg.sites()) == ["depot-a", "depot-b"]
    assert set(await reg.vehicles("depot-a")) == {a1, a2}
    assert tuple(await reg.vehicles("depot-b")) == (b1,)
    assert tuple(await reg.vehicles("nowhere")) == ()
    assert {(v.site_id, v.vehicle_id) for v in reg} == {
        ("depot-a", "ev-1"),
        ("depot-a", "ev-2"),
        ("depot-b", "ev-1"),
    }
    reg.remove("depot-b", "ev-1")
    assert reg.sites() == ["depot-a"]


async def test_registry_vehicles_is_a_snapshot() -> None:
    """Later updates do not change a snapshot already returned by vehicles()."""
    reg = FleetRegistry()
    reg.upsert(_vehicle())
    snapshot = await reg.vehicles("depot-a")
    reg.upsert(_vehicle(vehicle_id="ev-02"))
    assert len(snapshot) == 1


# --- static fleet -----------------------------------------------------------------------------


def test_static_fleet_rejects_duplicate_ids_per_site() -> None:
    """The same vehicle id twice at one site is refused."""
    with pytest.raises(ValueError, match="appears twice"):
        StaticFleet([_vehicle(), _vehicle(soc_pct=70.0)])


async def test_static_fleet_serves_vehicles_per_site() -> None:
    """The same id at two sites is two vehicles; each site gets only its own."""
    a, b = _vehicle(), _vehicle(site_id="depot-b")
    fleet = StaticFleet([a, b])
    assert tuple(await fleet.vehicles("depot-a")) == (a,)
    assert tuple(await fleet.vehicles("depot-b")) == (b,)
    assert tuple(await fleet.vehicles("depot-c")) == ()
