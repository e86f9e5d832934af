"""The status of a solve, as an enum (never a bare string)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class PlanStatus(StrEnum):
    """How a solve ended.

    Examples
    --------
    >>> PlanStatus("feasible").has_solution
    True
    >>> PlanStatus.INFEASIBLE.has_solution
    False
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # stopped (time limit) with a solution and a gap
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"  # stopped before finding any solution
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        """True when the plan carries purchases that satisfy every constraint."""
        return self in (PlanStatus.OPTIMAL, PlanStatus.FEASIBLE)


@dataclass(frozen=True)
class SolverOutcome:
    """What a solver back end reports: the status, the objective and best bound (the
    program's objective, offset included), a message, and the solution: a value per
    column when there is a plan, and for a solved LP a dual and an activity per row."""

    status: PlanStatus
    objective: float | None
    bound: float | None
    message: str
    values: np.ndarray | None = field(default=None, repr=False, compare=False)
    duals: np.ndarray | None = field(default=None, repr=False, compare=False)
    activity: np.ndarray | None = field(default=None, repr=False, compare=False)


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """Relative gap ``(objective - bound) / |objective|``, 0 for a zero objective; None
    without both numbers.

    Examples
    --------
    >>> relative_gap(100.0, 99.0)
    0.01
    >>> relative_gap(100.0, None) is None
    True
    """
    if objective is None or bound is None:
        return None
    if abs(objective) < 1e-9:
        return 0.0
    return max(0.0, (objective - bound) / abs(objective))
