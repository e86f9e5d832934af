"""Solver back ends behind a registry, each with an availability probe and lazy imports.

A back end takes a :class:`~capforecast.plan.program.Program` and returns a
:class:`SolverOutcome`: the status, the objective and best bound (the program's objective,
its offset included), a message and the solution. HiGHS (through ``highspy``,
:mod:`capforecast.plan.highs`) is the default; CBC (bundled with PuLP, which gets the
program as a PuLP problem) is optional.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Protocol

import numpy as np
import pulp

from capforecast.core.errors import SolverUnavailableError
from capforecast.plan.program import Program
from capforecast.plan.status import PlanStatus, SolverOutcome


class Backend(Protocol):
    """A MILP back end."""

    name: str
    install_hint: str

    def available(self) -> bool:
        """Whether the back end can run here."""
        ...

    def solve(self, program: Program, *, mip_gap: float, time_limit_s: float) -> SolverOutcome:
        """Solve ``program``; the outcome carries the solution."""
        ...


class HighsBackend:
    """HiGHS through its Python API (single-threaded, so runs are reproducible)."""

    name = "highs"
    install_hint = "pip install highspy"

    def available(self) -> bool:
        """True when ``highspy`` is importable."""
        return importlib.util.find_spec("highspy") is not None

    def solve(self, program: Program, *, mip_gap: float, time_limit_s: float) -> SolverOutcome:
        """Solve with HiGHS in phases (see :mod:`capforecast.plan.highs`)."""
        from capforecast.plan import highs

        with quiet_stdout():
            # HiGHS prints a banner from C++ when constructed, whatever its options say.
            return highs.solve(program, mip_gap=mip_gap, time_limit_s=time_limit_s)


class CbcBackend:
    """CBC, the solver bundled with PuLP. PuLP does not report its bound (nor the gap)."""

    name = "cbc"
    install_hint = "pip install 'pulp[cbc]'"

    def available(self) -> bool:
        """True when a CBC binary is found (on the PATH, or the one bundled with PuLP)."""
        return bool(self._command(mip_gap=0.0, time_limit_s=1.0).available())

    @staticmethod
    def _command(*, mip_gap: float, time_limit_s: float) -> pulp.LpSolver_CMD:
        options = {"msg": False, "gapRel": mip_gap, "timeLimit": time_limit_s, "threads": 1}
        installed = pulp.COIN_CMD(**options)
        if installed.available():
            return installed
        with warnings.catch_warnings():
            # PuLP 3.3 deprecates its bundled binary in favour of `pip install pulp[cbc]`;
            # it still works, and is the fallback when no CBC is installed.
            warnings.simplefilter("ignore", DeprecationWarning)
            return pulp.PULP_CBC_CMD(**options)

    def solve(self, program: Program, *, mip_gap: float, time_limit_s: float) -> SolverOutcome:
        """Solve with CBC through PuLP's command-line interface."""
        problem, variables = program.to_pulp()
        problem.solve(self._command(mip_gap=mip_gap, time_limit_s=time_limit_s))
        objective = pulp.value(problem.objective)
        has_solution = problem.sol_status in (
            pulp.LpSolutionOptimal,
            pulp.LpSolutionIntegerFeasible,
        )
        if problem.sol_status == pulp.LpSolutionOptimal:
            status = PlanStatus.OPTIMAL
        elif problem.status == pulp.LpStatusInfeasible:
            status = PlanStatus.INFEASIBLE
        elif has_solution:
            status = PlanStatus.FEASIBLE
        elif problem.status == pulp.LpStatusNotSolved:
            status = PlanStatus.NO_SOLUTION
        else:
            status = PlanStatus.ERROR
        value = float(objective) if has_solution and objective is not None else None
        # PuLP does not expose CBC's dual bound; "optimal" only means within its gap. PuLP
        # says "Optimal" for a run stopped by its time limit, and "Not Solved" (with
        # whatever values CBC left in the variables) when it found nothing: say what it is.
        message = {
            PlanStatus.FEASIBLE: "stopped at the time limit with a solution, optimality not "
            f"proven (PuLP reports '{pulp.LpStatus[problem.status]}')",
            PlanStatus.NO_SOLUTION: "stopped at the time limit before finding any solution",
        }.get(status, pulp.LpStatus[problem.status])
        values = np.array([v.varValue or 0.0 for v in variables]) if has_solution else None
        return SolverOutcome(status, value, None, message, values=values)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence the process-level standard output (C++ writes bypass ``sys.stdout``)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield  # no real file descriptor (e.g. captured): nothing to silence
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


SOLVERS: dict[str, Backend] = {"highs": HighsBackend(), "cbc": CbcBackend()}


def get_solver(name: str) -> Backend:
    """The back end called ``name``; raises with an install hint when it cannot run.

    Examples
    --------
    >>> get_solver("highs").name
    'highs'
    """
    if name not in SOLVERS:
        raise SolverUnavailableError(f"unknown solver '{name}'; choose one of {sorted(SOLVERS)}")
    backend = SOLVERS[name]
    if not backend.available():
        raise SolverUnavailableError(
            f"solver '{name}' is not available here; install it with: {backend.install_hint}"
        )
    return backend
