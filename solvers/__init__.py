"""One small API to solve LP and MIP models, whatever the backend.

A model is a :class:`LinearModel` (arrays, built with :class:`ModelBuilder`); a backend is
anything that satisfies the :class:`Solver` protocol; :class:`SolverChain` tries backends in
order and falls through the unavailable or failing ones. This package imports nothing else of
the project.
"""

from solvers.builder import ModelBuilder
from solvers.chain import SolverChain
from solvers.errors import SolverError, SolverFailedError, SolverUnavailableError
from solvers.hexaly_backend import HexalySolver
from solvers.highs import HighsSolver
from solvers.model import LinearModel, Sense, Solution, SolveOptions, SolveStatus, VarType
from solvers.protocol import Solver
from solvers.pulp_backend import PulpSolver

__all__ = [
    "HexalySolver",
    "HighsSolver",
    "LinearModel",
    "ModelBuilder",
    "PulpSolver",
    "Sense",
    "Solution",
    "SolveOptions",
    "SolveStatus",
    "Solver",
    "SolverChain",
    "SolverError",
    "SolverFailedError",
    "SolverUnavailableError",
    "VarType",
]
