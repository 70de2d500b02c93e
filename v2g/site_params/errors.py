"""Errors of site parameters, one tree::

    ValueError
    ├── SiteParameterError    a parameter set or override has a bad or unknown key
    └── ParameterFileError    an override file cannot be read or is not TOML

Both name where the parameters came from; :class:`SiteParameterError` also names the key and
the value, e.g. ``site 10, parameter set 'default': freeze_horizon_min = -5: Input should be
greater than or equal to 0``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One bad key: its value (None when missing) and why it is refused."""

    key: str
    value: Any
    reason: str

    def describe(self) -> str:
        """``key = value: reason``."""
        return f"{self.key} = {_show(self.value)}: {self.reason}"


def _show(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


class SiteParameterError(ValueError):
    """Parameters that do not validate; the first problem's ``key`` and ``value`` are fields.

    The message names where the values came from: the stored ``set_name``, else the override
    ``file``, else another ``source`` (e.g. ``command line``).
    """

    def __init__(
        self,
        problems: list[Problem],
        *,
        site_id: str,
        set_name: str,
        file: str | None = None,
        source: str | None = None,
    ) -> None:
        if not problems:
            raise ValueError("SiteParameterError needs at least one problem")
        self.problems = tuple(problems)
        self.site_id = site_id
        self.set_name = set_name
        self.file = file
        self.key = problems[0].key
        self.value = problems[0].value
        self.reason = problems[0].reason
        self.source = source
        origin = f"parameter set '{set_name}'"
        if file is not None:
            origin = f"parameter file '{file}'"
        elif source is not None:
            origin = source
        more = ""
        if len(problems) > 1:
            more = f" (and {len(problems) - 1} more: {', '.join(p.key for p in problems[1:])})"
        super().__init__(f"site {site_id}, {origin}: {problems[0].describe()}{more}")


class ParameterFileError(ValueError):
    """An override file that cannot be read or parsed."""

    def __init__(self, path: str, why: str) -> None:
        self.path = path
        self.why = why
        super().__init__(f"parameter file '{path}': {why}")
