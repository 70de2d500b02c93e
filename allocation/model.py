"""The seed's set-packing MIP over a pool of sequences, and the dual of its LP relaxation.

The MIP, exactly as specified (``optimization_models.md`` section 1): binary ``x_s`` per
sequence, binary ``covered_r`` per route;

    maximise   W * sum_r covered_r + sum_s score_s * x_s
    subject to sum_{s of v} x_s <= 1                  one sequence per vehicle (= 1 for a
                                                      vehicle with kept routes)
               sum_{s covers r} x_s <= 1              each route at most once
               covered_r <= sum_{s covers r} x_s      route covered definition
               sum_{s covers r} x_s <= n_r covered_r  (n_r: sequences covering r)

``score_s`` is the scaled score (``scale * score``). Since each route is covered at most
once, ``covered_r = sum x_s`` and the LP relaxation is ``max sum_s c_s x_s`` over the two
packing rows, with ``c_s = W |s| + score_s``. Column generation needs that LP's duals; it
solves the dual LP, whose primal values they are (any backend gives them, and HiGHS solves
this form faster than the primal):

    minimise   sum_r mu_r + sum_v pi_v
    subject to sum_{r in s} mu_r + pi_v(s) >= c_s     for every pooled sequence s
               mu >= 0, pi_v >= 0 (free for a vehicle that must take a sequence)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from allocation.search import Seq
from solvers import LinearModel, ModelBuilder, Sense, VarType
from solvers.model import FloatArray


@dataclass
class Pool:
    """The sequences generated so far, as columns (vehicle, routes, objective coefficient)."""

    vehicles: list[int] = field(default_factory=list)
    routes: list[Seq] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    _index: set[tuple[int, Seq]] = field(default_factory=set)

    def add(self, v: int, seq: Seq, value: float) -> bool:
        """Pool the column unless it is there already; True when added."""
        key = (v, seq)
        if key in self._index:
            return False
        self._index.add(key)
        self.vehicles.append(v)
        self.routes.append(seq)
        self.values.append(value)
        return True

    def __len__(self) -> int:
        return len(self.vehicles)

    def entries(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(column, route index) of every route of every pooled column."""
        lengths = np.fromiter((len(s) for s in self.routes), dtype=np.int64, count=len(self))
        cols = np.repeat(np.arange(len(self), dtype=np.int64), lengths)
        rows = np.fromiter(
            (r for s in self.routes for r in s), dtype=np.int64, count=int(lengths.sum())
        )
        return cols, rows


def dual_model(pool: Pool, n_routes: int, n_vehicles: int, must: list[bool]) -> LinearModel:
    """The dual of the pool's LP relaxation; variables ``mu`` (routes) then ``pi`` (vehicles)."""
    b = ModelBuilder(Sense.MINIMIZE, "allocation-dual")
    b.add_columns(n_routes, cost=1.0, lower=0.0)
    b.add_columns(n_vehicles, cost=1.0, lower=[-math.inf if m else 0.0 for m in must])
    seq_idx, route_idx = pool.entries()
    n = len(pool)
    rows = np.concatenate([seq_idx, np.arange(n)])
    cols = np.concatenate([route_idx, n_routes + np.asarray(pool.vehicles, dtype=np.int64)])
    b.add_rows(n, lower=pool.values, rows=rows, cols=cols, values=np.ones(rows.size))
    return b.build()


@dataclass(frozen=True)
class Mip:
    """The seed MIP of a pool; ``x`` columns first, then ``covered``."""

    model: LinearModel
    n_sequences: int

    def chosen(self, x: FloatArray) -> list[int]:
        """Pool indices of the selected sequences."""
        return [int(i) for i in np.flatnonzero(x[: self.n_sequences] > 0.5)]


def seed_mip(pool: Pool, n_routes: int, n_vehicles: int, must: list[bool], weight: float) -> Mip:
    """The seed's model over the pool (``weight`` is W)."""
    n = len(pool)
    lengths = np.fromiter((len(s) for s in pool.routes), dtype=np.float64, count=n)
    score = np.asarray(pool.values, dtype=np.float64) - weight * lengths
    b = ModelBuilder(Sense.MAXIMIZE, "allocation")
    b.add_columns(n, cost=score, lower=0.0, upper=1.0, var_type=VarType.INTEGER)
    cov0 = b.add_columns(n_routes, cost=weight, lower=0.0, upper=1.0, var_type=VarType.INTEGER)
    veh = np.asarray(pool.vehicles, dtype=np.int64)
    b.add_rows(
        n_vehicles,
        lower=[1.0 if m else -math.inf for m in must],
        upper=1.0,
        rows=veh,
        cols=np.arange(n),
        values=np.ones(n),
    )
    seq_idx, route_idx = pool.entries()
    ones = np.ones(seq_idx.size)
    b.add_rows(n_routes, upper=1.0, rows=route_idx, cols=seq_idx, values=ones)
    covering = np.bincount(route_idx, minlength=n_routes).astype(np.float64)
    cov = np.arange(n_routes) + cov0.start
    # covered_r - sum x <= 0
    b.add_rows(
        n_routes,
        upper=0.0,
        rows=np.concatenate([np.arange(n_routes), route_idx]),
        cols=np.concatenate([cov, seq_idx]),
        values=np.concatenate([np.ones(n_routes), -ones]),
    )
    # sum x - n_r covered_r <= 0
    b.add_rows(
        n_routes,
        upper=0.0,
        rows=np.concatenate([route_idx, np.arange(n_routes)]),
        cols=np.concatenate([seq_idx, cov]),
        values=np.concatenate([ones, -covering]),
    )
    return Mip(b.build(), n)
