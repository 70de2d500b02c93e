"""The simulator's pure parts: battery SoC moves and the ``v2g simulate`` configuration."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.vehicle import Direction, Vehicle
from v2g.cli import build_parser
from v2g.cli_simulate import latency_range, mqtt_settings_from_env
from v2g.simulator import soc_after


def _vehicle(soc: float = 50.0, degradation: float = 0.0) -> Vehicle:
    return Vehicle(
        vehicle_id="ev1",
        site_id="10",
        soc_pct=soc,
        battery_kwh=50.0,
        max_charge_kw=11.0,
        max_discharge_kw=10.0,
        degradation=degradation,
        min_soc_pct=20.0,
        max_soc_pct=90.0,
    )


def test_discharge_lowers_soc_by_energy_over_usable_capacity() -> None:
    """10 kW for an hour from 50 kWh is 20 SoC points; wear shrinks the usable capacity."""
    assert soc_after(_vehicle(), Direction.DISCHARGE, 10.0, 3600.0) == pytest.approx(30.0)
    worn = _vehicle(degradation=0.2)
    assert soc_after(worn, Direction.DISCHARGE, 10.0, 3600.0) == pytest.approx(25.0)


def test_charge_raises_soc_up_to_its_limit() -> None:
    """Charging stops at max_soc_pct; discharging stops at min_soc_pct."""
    assert soc_after(_vehicle(), Direction.CHARGE, 10.0, 1800.0) == pytest.approx(60.0)
    assert soc_after(_vehicle(), Direction.CHARGE, 50.0, 3600.0) == 90.0
    assert soc_after(_vehicle(), Direction.DISCHARGE, 50.0, 3600.0) == 20.0


@given(
    soc=st.floats(0.0, 100.0),
    power=st.floats(0.0, 500.0),
    seconds=st.floats(0.0, 86_400.0),
    direction=st.sampled_from(Direction),
)
def test_soc_never_crosses_a_limit_it_was_inside(
    soc: float, power: float, seconds: float, direction: Direction
) -> None:
    """The SoC moves the order's way only, and never past the limit in that direction."""
    vehicle = _vehicle(soc)
    after = soc_after(vehicle, direction, power, seconds)
    if direction is Direction.DISCHARGE:
        assert after <= soc
        assert after >= min(soc, vehicle.min_soc_pct)
    else:
        assert after >= soc
        assert after <= max(soc, vehicle.max_soc_pct)


def test_settings_from_env_defaults() -> None:
    """Without variables the simulator talks to 127.0.0.1:1883 under ``v2g``, anonymously."""
    s = mqtt_settings_from_env({})
    assert (s.host, s.port, s.username, s.password, s.topic_prefix) == (
        "127.0.0.1",
        1883,
        None,
        None,
        "v2g",
    )


def test_settings_from_env_reads_credentials_and_prefix() -> None:
    """The URL carries host, port and (percent-encoded) credentials; the prefix its own var."""
    env = {"V2G_MQTT_URL": "mqtt://v2g-simulator:p%40ss@broker:1884", "V2G_TOPIC_PREFIX": "a/b"}
    s = mqtt_settings_from_env(env)
    assert (s.host, s.port, s.username, s.topic_prefix) == ("broker", 1884, "v2g-simulator", "a/b")
    assert s.password is not None
    assert s.password.get_secret_value() == "p@ss"


def test_settings_from_env_rejects_other_schemes() -> None:
    """Only mqtt:// (or tcp://) URLs are understood."""
    with pytest.raises(ValueError, match="scheme"):
        mqtt_settings_from_env({"V2G_MQTT_URL": "http://broker"})


def test_latency_range_is_milliseconds() -> None:
    """``20-250`` is 20 to 250 ms; one number is a fixed latency; nonsense is refused."""
    assert latency_range("20-250") == (0.02, 0.25)
    assert latency_range("100") == (0.1, 0.1)
    for bad in ("250-20", "fast", "-5"):
        with pytest.raises(argparse.ArgumentTypeError):
            latency_range(bad)


def test_simulate_subcommand_parses_rates() -> None:
    """``v2g simulate`` takes the site, fleet size, seed, reply rates and latency."""
    argv = "simulate --site 10 --vehicles 5 --seed 3 --accept 0.5 --reject 0.5 --partial 0"
    args = build_parser().parse_args([*argv.split(), "--silent", "0", "--latency-ms", "1-2"])
    assert (args.site, args.vehicles, args.seed) == ("10", 5, 3)
    assert (args.accept, args.reject, args.partial, args.silent) == (0.5, 0.5, 0.0, 0.0)
    assert args.latency_ms == (0.001, 0.002)
