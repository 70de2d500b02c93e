"""The model and solution value objects shared by every backend.

A model reads: optimise ``cost @ x + offset`` subject to
``row_lower <= A @ x <= row_upper`` and ``col_lower <= x <= col_upper``, where ``A`` is stored
column-wise (CSC: ``col_start``, ``row_index``, ``value``). Variables are continuous, integer,
or semi-continuous (``x == 0`` or ``col_lower <= x <= col_upper``). Infinite bounds are
``math.inf``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int32]


class Sense(enum.Enum):
    """Direction of optimisation."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


class VarType(enum.IntEnum):
    """Kind of a decision variable."""

    CONTINUOUS = 0
    INTEGER = 1
    SEMI_CONTINUOUS = 2


class SolveStatus(enum.Enum):
    """Outcome of a solve, independent of the backend."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # stopped early (time limit) with an incumbent
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no_solution"  # stopped early without an incumbent, or backend error

    @property
    def has_solution(self) -> bool:
        """True when ``Solution.x`` holds a feasible point."""
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


@dataclass(frozen=True)
class SolveOptions:
    """Limits for one solve. Every solve has a time limit."""

    time_limit_s: float = 10.0
    mip_rel_gap: float = 1e-4
    threads: int = 1
    presolve: bool = True  # backends without the switch ignore it

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0:
            raise ValueError(f"time_limit_s must be > 0, got {self.time_limit_s}")
        if not 0 <= self.mip_rel_gap < 1:
            raise ValueError(f"mip_rel_gap must be in [0, 1), got {self.mip_rel_gap}")
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")


@dataclass(frozen=True, eq=False)
class LinearModel:
    """An LP or MIP in arrays. Validated on construction; treat the arrays as read-only."""

    sense: Sense
    cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    col_start: IntArray
    row_index: IntArray
    value: FloatArray
    var_type: NDArray[np.int8] | None = None
    offset: float = 0.0
    name: str = "model"

    def __post_init__(self) -> None:
        n, m = self.num_cols, self.num_rows
        for label, arr, size in (
            ("col_lower", self.col_lower, n),
            ("col_upper", self.col_upper, n),
            ("row_upper", self.row_upper, m),
            ("col_start", self.col_start, n + 1),
        ):
            if arr.shape != (size,):
                raise ValueError(f"{self.name}: {label} has shape {arr.shape}, expected ({size},)")
        if self.var_type is not None and self.var_type.shape != (n,):
            raise ValueError(f"{self.name}: var_type has shape {self.var_type.shape}")
        nnz = int(self.col_start[-1]) if n else 0
        if self.row_index.shape != (nnz,) or self.value.shape != (nnz,):
            raise ValueError(f"{self.name}: matrix arrays disagree with col_start ({nnz} entries)")
        if nnz and (self.row_index.min() < 0 or self.row_index.max() >= m):
            raise ValueError(f"{self.name}: a row index is outside [0, {m})")
        if not np.all(np.isfinite(self.cost)) or not np.all(np.isfinite(self.value)):
            raise ValueError(f"{self.name}: costs and coefficients must be finite")
        if np.any(self.col_lower > self.col_upper) or np.any(self.row_lower > self.row_upper):
            raise ValueError(f"{self.name}: a lower bound exceeds its upper bound")

    @property
    def num_cols(self) -> int:
        """Number of variables."""
        return int(self.cost.shape[0])

    @property
    def num_rows(self) -> int:
        """Number of constraints."""
        return int(self.row_lower.shape[0])

    @property
    def is_mip(self) -> bool:
        """True when any variable is integer or semi-continuous."""
        return self.var_type is not None and bool(np.any(self.var_type != VarType.CONTINUOUS))

    def objective(self, x: FloatArray) -> float:
        """Objective value of the point ``x`` (no feasibility check)."""
        return float(self.cost @ x) + self.offset

    def row_activity(self, x: FloatArray) -> FloatArray:
        """``A @ x`` for the point ``x``."""
        counts = np.diff(self.col_start)
        cols = np.repeat(np.arange(self.num_cols), counts)
        return np.bincount(
            self.row_index, weights=self.value * x[cols], minlength=self.num_rows
        ).astype(np.float64)


@dataclass(frozen=True, eq=False)
class Solution:
    """What a backend returns. ``x`` is empty unless ``status.has_solution``."""

    status: SolveStatus
    solver: str
    x: FloatArray = field(default_factory=lambda: np.zeros(0))
    objective: float = float("nan")
    mip_gap: float = 0.0
    runtime_s: float = 0.0
    message: str = ""
    row_dual: FloatArray = field(default_factory=lambda: np.zeros(0))  # LPs; empty if unknown

    def reduced_costs(self, model: LinearModel) -> FloatArray:
        """``cost - A^T row_dual`` for every column of ``model`` (LP duals needed)."""
        if self.row_dual.shape != (model.num_rows,):
            raise ValueError(f"{self.solver}: no row duals for {model.name}")
        cols = np.repeat(np.arange(model.num_cols), np.diff(model.col_start))
        priced = np.bincount(
            cols, weights=model.value * self.row_dual[model.row_index], minlength=model.num_cols
        )
        return np.asarray(model.cost - priced, dtype=np.float64)
