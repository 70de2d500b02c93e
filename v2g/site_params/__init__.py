"""Site parameters: named, typed parameter sets per site, validated with errors naming the key.

``SiteConfig`` is the validated set; :func:`parse_config` turns raw values (database rows,
a TOML file, command-line flags) into one and raises :class:`SiteParameterError` naming the
site, the set or file, the key and the value. The sets themselves live in the database
(:mod:`v2g.storage.sites`).
"""

from v2g.site_params.config import SiteConfig, SolverName
from v2g.site_params.errors import ParameterFileError, Problem, SiteParameterError
from v2g.site_params.validate import (
    KEYS,
    Overrides,
    apply_overrides,
    parse_config,
    read_parameter_file,
)

__all__ = [
    "KEYS",
    "Overrides",
    "ParameterFileError",
    "Problem",
    "SiteConfig",
    "SiteParameterError",
    "SolverName",
    "apply_overrides",
    "parse_config",
    "read_parameter_file",
]
