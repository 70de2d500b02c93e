"""Sites and their named parameter sets: stored, validated on write and on load, overridable."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from allocation import AllocationParameters
from v2g.site_params import (
    Overrides,
    ParameterFileError,
    SiteConfig,
    SiteParameterError,
    read_parameter_file,
)
from v2g.storage import Database
from v2g.storage.sites import (
    SiteNotFoundError,
    activate_parameter_set,
    get_parameter_set,
    get_site,
    list_parameter_sets,
    load_site_config,
    put_parameter_set,
    upsert_site,
)

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_defaults_are_the_allocators_and_documented() -> None:
    """An empty set gives the allocator's own defaults and a 12 h, 30-minute schedule."""
    config = SiteConfig()
    assert config.allocation_parameters() == AllocationParameters()
    assert (config.planning_window_h, config.schedule_window_h, config.slot_minutes) == (18, 12, 30)
    assert config.schedule_site(fleet_charge_kw=44.0).site_capacity_kw == 44.0


async def test_a_parameter_set_round_trips(db: Database) -> None:
    """Stored values come back as given; keys not stored take their defaults."""
    await upsert_site(db, "10", now=NOW, name="depot")
    values = {"freeze_horizon_min": 30, "solver": "greedy", "site_capacity_kw": 150.5}
    await put_parameter_set(db, "10", "default", values, now=NOW)
    assert await get_parameter_set(db, "10", "default") == values
    config = await load_site_config(db, "10")
    assert config == SiteConfig.model_validate(values)
    assert config.turnaround_min == SiteConfig().turnaround_min
    site = await get_site(db, "10")
    assert site is not None
    assert (site.name, site.parameter_set) == ("depot", "default")


async def test_putting_a_set_replaces_it_whole(db: Database) -> None:
    """A key left out of the new values is gone (back to its default)."""
    await upsert_site(db, "10", now=NOW)
    await put_parameter_set(db, "10", "default", {"min_soc_pct": 20, "turnaround_min": 5}, now=NOW)
    await put_parameter_set(db, "10", "default", {"min_soc_pct": 25}, now=NOW)
    assert await get_parameter_set(db, "10", "default") == {"min_soc_pct": 25}


async def test_a_bad_value_fails_naming_the_key_and_value(db: Database) -> None:
    """A negative freeze horizon is refused naming site, set, key, value, reason; none stored."""
    await upsert_site(db, "10", now=NOW)
    with pytest.raises(SiteParameterError) as caught:
        await put_parameter_set(db, "10", "default", {"freeze_horizon_min": -5}, now=NOW)
    error = caught.value
    assert str(error) == (
        "site 10, parameter set 'default': freeze_horizon_min = -5: "
        "Input should be greater than or equal to 0"
    )
    assert (error.site_id, error.set_name, error.key, error.value) == (
        "10",
        "default",
        "freeze_horizon_min",
        -5,
    )
    assert await get_parameter_set(db, "10", "default") == {}


async def test_an_unknown_key_fails_with_the_closest_known_one(db: Database) -> None:
    """A misspelt key is named, and the key it probably meant is suggested."""
    await upsert_site(db, "10", now=NOW)
    with pytest.raises(SiteParameterError, match="did you mean 'freeze_horizon_min'") as caught:
        await put_parameter_set(db, "10", "default", {"freze_horizon_min": 30}, now=NOW)
    assert caught.value.key == "freze_horizon_min"
    assert "unknown parameter" in str(caught.value)


def test_only_half_hour_slots_are_supported() -> None:
    """``slot_minutes = 15`` says that only 30-minute slots exist."""
    with pytest.raises(ValueError, match="only 30-minute slots are supported"):
        SiteConfig.model_validate({"slot_minutes": 15})


async def test_a_bad_value_edited_into_the_database_fails_on_load(db: Database) -> None:
    """Sets are validated again when loaded: a hand-written bad row names its set and key."""
    await upsert_site(db, "10", now=NOW)
    await db.execute(
        "INSERT INTO t_site_parameter (site_id, set_name, name, value, updated_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        "10",
        "default",
        "schedule_window_h",
        "30",
        NOW,
    )
    with pytest.raises(SiteParameterError, match=r"'default': schedule_window_h = 30: .* 24"):
        await load_site_config(db, "10")


async def test_the_active_set_is_the_one_loaded(db: Database) -> None:
    """Activating a named set makes it the site's config; an absent set cannot be activated."""
    await upsert_site(db, "10", now=NOW)
    await put_parameter_set(db, "10", "default", {"triad_penalty_eur_per_kwh": 0.5}, now=NOW)
    await put_parameter_set(db, "10", "winter", {"triad_penalty_eur_per_kwh": 2.0}, now=NOW)
    assert await list_parameter_sets(db, "10") == ["default", "winter"]
    await activate_parameter_set(db, "10", "winter", now=NOW)
    assert (await load_site_config(db, "10")).triad_penalty_eur_per_kwh == 2.0
    assert (await load_site_config(db, "10", set_name="default")).triad_penalty_eur_per_kwh == 0.5
    with pytest.raises(SiteNotFoundError, match="'summer'"):
        await activate_parameter_set(db, "10", "summer", now=NOW)


async def test_an_unknown_site_is_reported(db: Database) -> None:
    """Loading a site nobody seeded says so and how to fix it."""
    with pytest.raises(SiteNotFoundError, match="site 99 is not in the database"):
        await load_site_config(db, "99")


async def test_a_file_overrides_the_stored_set_for_one_run(db: Database, tmp_path: Path) -> None:
    """TOML values replace stored ones for the load only; the stored set is unchanged."""
    await upsert_site(db, "10", now=NOW)
    await put_parameter_set(db, "10", "default", {"schedule_window_h": 8}, now=NOW)
    path = tmp_path / "run.toml"
    path.write_text('schedule_window_h = 16\nsolver = "greedy"\n', encoding="utf-8")
    layers = [read_parameter_file(path), Overrides({"allocation_time_limit_s": 1.5})]
    config = await load_site_config(db, "10", overrides=layers)
    assert (config.schedule_window_h, config.solver, config.allocation_time_limit_s) == (
        16,
        "greedy",
        1.5,
    )
    assert (await load_site_config(db, "10")).schedule_window_h == 8


async def test_a_bad_override_file_names_the_file_and_key(db: Database, tmp_path: Path) -> None:
    """A bad value in the file is reported against the file, not the stored set."""
    await upsert_site(db, "10", now=NOW)
    path = tmp_path / "run.toml"
    path.write_text("min_soc_pct = 120\n", encoding="utf-8")
    with pytest.raises(SiteParameterError) as caught:
        await load_site_config(db, "10", overrides=[read_parameter_file(path)])
    assert f"parameter file '{path}': min_soc_pct = 120" in str(caught.value)
    assert caught.value.file == str(path)


def test_a_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    """Syntax errors and missing files name the file."""
    path = tmp_path / "run.toml"
    path.write_text("schedule_window_h = = 3\n", encoding="utf-8")
    with pytest.raises(ParameterFileError, match=r"run\.toml': not valid TOML"):
        read_parameter_file(path)
    with pytest.raises(ParameterFileError, match=r"absent\.toml"):
        read_parameter_file(tmp_path / "absent.toml")


def test_every_key_is_documented() -> None:
    """docs/storage.md's key table names every SiteConfig key."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "storage.md").read_text()
    missing = [key for key in SiteConfig.model_fields if f"| `{key}` |" not in doc]
    assert missing == []
