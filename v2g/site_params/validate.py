"""Validate raw parameter values into a :class:`SiteConfig`, with errors naming the key.

Values come from the database (one JSON value per key), from a TOML file for one run
(``--params FILE``, flat ``key = value`` lines) or from command-line flags; each layer is
validated on its own terms, so the error says which layer holds the bad key.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from v2g.site_params.config import SiteConfig
from v2g.site_params.errors import ParameterFileError, Problem, SiteParameterError

KEYS = tuple(SiteConfig.model_fields)


@dataclass(frozen=True)
class Overrides:
    """Values replacing the stored set's for one run; ``source`` names a file or the CLI."""

    values: Mapping[str, Any] = field(default_factory=dict)
    source: str = "command line"
    is_file: bool = False


def _reason(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        key = str(error["loc"][0])
        close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.6)
        return "unknown parameter" + (f" (did you mean '{close[0]}'?)" if close else "")
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def problems_of(exc: ValidationError) -> list[Problem]:
    """One :class:`Problem` per error of a ``SiteConfig`` validation, in key order."""
    out = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "(parameters)"
        out.append(Problem(key, error.get("input"), _reason(error)))
    return out


def parse_config(
    values: Mapping[str, Any],
    *,
    site_id: str,
    set_name: str,
    base: SiteConfig | None = None,
    file: str | None = None,
    source: str | None = None,
) -> SiteConfig:
    """``values`` over ``base`` (or the defaults), validated; :class:`SiteParameterError`."""
    merged = {**(base.model_dump() if base is not None else {}), **values}
    try:
        return SiteConfig.model_validate(merged)
    except ValidationError as exc:
        raise SiteParameterError(
            problems_of(exc), site_id=site_id, set_name=set_name, file=file, source=source
        ) from None


def apply_overrides(
    config: SiteConfig, layers: Sequence[Overrides], *, site_id: str, set_name: str
) -> SiteConfig:
    """``config`` with each layer applied in order, each validated and named on error."""
    for layer in layers:
        if layer.values:
            config = parse_config(
                layer.values,
                site_id=site_id,
                set_name=set_name,
                base=config,
                file=layer.source if layer.is_file else None,
                source=None if layer.is_file else layer.source,
            )
    return config


def read_parameter_file(path: Path) -> Overrides:
    """The flat ``key = value`` pairs of a TOML file (not validated yet: see ``parse_config``)."""
    try:
        with path.open("rb") as f:
            values = tomllib.load(f)
    except OSError as exc:
        raise ParameterFileError(str(path), exc.strerror or str(exc)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ParameterFileError(str(path), f"not valid TOML: {exc}") from exc
    return Overrides(values=values, source=str(path), is_file=True)
