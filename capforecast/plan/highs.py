"""The HiGHS back end: hands the program to HiGHS as arrays and solves a MIP in phases.

PuLP's own HiGHS interface adds columns and rows one call at a time, and reports
"Optimal" for runs stopped by their time limit. Here the program's arrays go to HiGHS as
one sparse matrix, and the values (and, for an LP, the row duals and activities) come back
as arrays.

A MIP is solved in up to three phases, all in the one time limit:

1. **LP relaxation.** Its optimum is a bound on the MIP optimum.
2. **Rounded plans.** With training clusters, each is first fixed to the pool the LP
   gives most of it (or "not placed" when that is largest) and the LP re-solved: a dive,
   so that the plans below keep whole clusters. Then the LP's orders rounded down, the
   rest re-optimised: the LP with the integer variables fixed, warm started from phase 1's
   basis, so a plan comes in a few simplex iterations whenever it is feasible. Then,
   unless that plan is within ``mip_gap`` already, the neighbourhood of the LP optimum,
   started from that plan: every integer variable at its lower bound in the LP is fixed
   there (an order at 0 stays 0), the others are free. On planning models only a few
   dozen orders are non-zero in the LP, so this MIP is small. It stops at the first plan
   within ``mip_gap`` of the phase-1 bound; once its own bound shows that it has none, at
   the first plan within half of ``mip_gap`` of its own bound (a start for phase 3). If
   the best plan is within ``mip_gap`` of the phase-1 bound, it is optimal within the gap
   and the solve stops.
3. **The whole MIP**, when phase 2 fell short, started from phase 2's plan. The better of
   its plan and phase 2's is kept, and the bound is the larger of the two bounds.

Phases 2 and 3 run in a child process that is killed at its deadline
(:mod:`capforecast.plan.highs_process`): HiGHS does not stop inside presolve or a round of
cut separation, which on large models can last minutes.

The objective's constant goes to HiGHS as the model's offset. (Were it the cost of a
variable fixed at 1, HiGHS 1.16 would drop it from the value of a start solution when its
presolve removes that column, and could then stop with a wrong "optimal".)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from capforecast.plan.highs_process import (
    INTEGRALITY,
    HighsError,
    HighsProblem,
    News,
    Phase,
    neighbourhood,
    run_in_child,
)
from capforecast.plan.program import Program
from capforecast.plan.status import PlanStatus, SolverOutcome, relative_gap

logger = logging.getLogger(__name__)

#: Share of the time limit the LP relaxation (phase 1) may use, and share of the time
#: then left that the neighbourhood search (phase 2) may use.
RELAXATION_SHARE = 0.5
NEIGHBOURHOOD_SHARE = 0.25

#: Relative gaps this small are rounding in the objective, not a gap (so mip_gap 0 can hold).
GAP_NOISE = 1e-12

#: The neighbourhood search's own gap, as a share of ``mip_gap``. Its gap is measured
#: against its own bound, not the LP relaxation's, so a plan within ``mip_gap`` of the
#: first may not be within it of the second; it stops at the first plan that is, or once
#: its bound shows that it has none.
NEIGHBOURHOOD_GAP = 0.1


def arrays(program: Program) -> dict[str, Any]:
    """The program as the arrays :class:`HighsProblem` takes."""
    matrix = program.matrix()
    return {
        "cost": program.cost,
        "offset": program.offset,
        "lower": program.lower,
        "upper": program.upper,
        "integer": program.integer,
        "row_lower": program.row_lower,
        "row_upper": program.row_upper,
        "start": matrix.indptr,
        "index": matrix.indices,
        "value": matrix.data,
    }


def solve(program: Program, *, mip_gap: float, time_limit_s: float) -> SolverOutcome:
    """Solve ``program`` with HiGHS (phases above); the outcome carries the best plan's
    values, and for an LP also the row duals and activities. A call HiGHS refuses is an
    outcome with status ``error`` that says which."""
    try:
        return _solve(program, mip_gap=mip_gap, time_limit_s=time_limit_s)
    except HighsError as error:
        return SolverOutcome(PlanStatus.ERROR, None, None, str(error))


#: Told the objective of the best plan so far (``inf`` before the first) and the best bound
#: on the MIP (``None`` before the first) as a solve improves them: its progress
#: (``capforecast.plan.solve(progress=...)``).
LISTENERS: list[Callable[[float, float | None], None]] = []


class _Progress:
    """The best plan and the MIP bound of one solve, told to ``LISTENERS`` as they improve.
    The neighbourhood search's own bound is no bound on the MIP: only its plans count."""

    def __init__(self) -> None:
        self.best: float = math.inf
        self.bound: float | None = None

    def tell(self, best: float | None = None, bound: float | None = None) -> None:
        if best is not None:
            self.best = min(self.best, best)
        if bound is not None:
            self.bound = bound if self.bound is None else max(self.bound, bound)
        for listener in LISTENERS:
            listener(self.best, self.bound)

    def plans(self, best: float, _bound: float | None) -> None:
        self.tell(best=best)

    def plans_and_bounds(self, best: float, bound: float | None) -> None:
        self.tell(best=best, bound=bound)


def _solve(program: Program, *, mip_gap: float, time_limit_s: float) -> SolverOutcome:
    import highspy

    statuses = highspy.HighsModelStatus
    deadline = time.perf_counter() + time_limit_s
    progress = _Progress()
    job = arrays(program)
    model = HighsProblem(job)
    if not model.integer.any():
        phase = model.run(relax=True, mip_gap=mip_gap, time_limit_s=time_limit_s)
        outcome = _outcome(phase)
        if phase.status != statuses.kOptimal:
            return outcome
        solution = model.highs.getSolution()
        return replace(
            outcome,
            duals=np.asarray(solution.row_dual, dtype=float),
            activity=np.asarray(solution.row_value, dtype=float),
        )

    relaxation = model.run(
        relax=True, mip_gap=mip_gap, time_limit_s=RELAXATION_SHARE * time_limit_s
    )
    if relaxation.status in (statuses.kInfeasible, statuses.kUnboundedOrInfeasible):
        return SolverOutcome(
            PlanStatus.INFEASIBLE, None, None, "infeasible (its LP relaxation is infeasible)"
        )
    bound = relaxation.bound
    progress.tell(bound=bound)
    best: Phase | None = None
    if bound is not None and relaxation.values is not None:
        relaxed = _dive(model, program.choices, relaxation.values, deadline)
        rounded = np.floor(relaxed + INTEGRALITY)
        left = deadline - time.perf_counter()
        floor = model.fixed_at(rounded, time_limit_s=NEIGHBOURHOOD_SHARE * left)
        if floor.status == statuses.kOptimal and floor.values is not None:
            best = floor
            progress.tell(best=floor.objective)
        if best is None or not _within(best.objective, bound, mip_gap):
            left = deadline - time.perf_counter()
            found = _in_child(
                neighbourhood(job, relaxed),
                mip_gap=NEIGHBOURHOOD_GAP * mip_gap,
                time_limit_s=NEIGHBOURHOOD_SHARE * left,
                start=None if best is None else best.values,
                target=_target(bound, mip_gap),
                news=progress.plans,
            )
            if found.values is not None and (best is None or _better(found, best)):
                best = found
        if best is not None and _within(best.objective, bound, mip_gap):
            message = f"optimal within {mip_gap:.4%} of the LP relaxation bound"
            return SolverOutcome(
                PlanStatus.OPTIMAL, best.objective, bound, message, values=best.values
            )

    whole = _in_child(
        job,
        mip_gap=mip_gap,
        time_limit_s=deadline - time.perf_counter(),
        start=None if best is None else best.values,
        news=progress.plans_and_bounds,
    )
    claimed = best is not None and whole.status == statuses.kOptimal
    if claimed and not _within(whole.objective, whole.bound, mip_gap):
        # HiGHS 1.16 can stop "optimal" from a start solution with a gap still open
        # (measured: 274,397 against its own bound of 253,133 at mip_gap 0; the optimum,
        # found without the start, is 253,133): run again without it.
        logger.info("HiGHS stopped 'optimal' with a gap left; solving without the start")
        whole = _in_child(
            job,
            mip_gap=mip_gap,
            time_limit_s=deadline - time.perf_counter(),
            start=None,
            news=progress.plans_and_bounds,
        )
    if whole.values is not None and (best is None or _better(whole, best)):
        best = whole
    if best is None or best.values is None:
        return _outcome(whole)  # no plan from any phase
    if whole.bound is not None:
        bound = whole.bound if bound is None else max(bound, whole.bound)
    # Optimal only when the plan's own gap says so: a run's word alone is not enough.
    proven = _within(best.objective, bound, mip_gap)
    status = PlanStatus.OPTIMAL if proven else PlanStatus.FEASIBLE
    return SolverOutcome(status, best.objective, bound, whole.message, values=best.values)


def _dive(
    model: HighsProblem, choices: list[np.ndarray], values: np.ndarray, deadline: float
) -> np.ndarray:
    """The LP relaxation's ``values`` with every choice group fixed to its largest member
    (a cluster on the pool the LP gives most of it, or not placed) and the LP re-solved:
    rounding the LP's orders down then keeps room for each cluster, and the neighbourhood
    search frees the orders it needs. ``values`` as they are without choices, or when
    that LP has no optimum (the MIP phases then start from the relaxation itself)."""
    if not choices:
        return values
    columns = np.concatenate(choices)
    fixed = np.zeros(len(values))
    for group in choices:
        allowed = group[model.upper[group] > 0]
        if len(allowed):
            fixed[allowed[np.argmax(values[allowed])]] = 1.0  # the first of a tie
    left = NEIGHBOURHOOD_SHARE * (deadline - time.perf_counter())
    import highspy

    dived = model.fixed_at(fixed, time_limit_s=left, columns=columns)
    if dived.status == highspy.HighsModelStatus.kOptimal and dived.values is not None:
        return dived.values
    return values


def _in_child(
    arrays: dict[str, Any],
    *,
    mip_gap: float,
    time_limit_s: float,
    start: np.ndarray | None,
    target: float | None = None,
    news: News | None = None,
) -> Phase:
    """A MIP run in a child process killed at the deadline, stopping at the first plan
    costing at most ``target`` (in this process, where a child cannot be started, and then
    to ``mip_gap`` only); ``news`` hears of its plans and bounds as they come."""
    import highspy

    if time_limit_s <= 0:
        return Phase(highspy.HighsModelStatus.kTimeLimit, "Time limit reached", None, None, None)
    try:
        return run_in_child(
            arrays,
            mip_gap=mip_gap,
            time_limit_s=time_limit_s,
            start=start,
            target=target,
            news=news,
        )
    except (OSError, RuntimeError) as error:
        logger.warning("solving the MIP in this process instead: %s", error)
        problem = HighsProblem(arrays)
        return problem.run(relax=False, mip_gap=mip_gap, time_limit_s=time_limit_s, start=start)


def _target(bound: float, mip_gap: float) -> float:
    """The largest objective within ``mip_gap`` of ``bound`` (see :func:`relative_gap`)."""
    if bound >= 0:
        return bound / (1 - mip_gap) if mip_gap < 1 else math.inf
    return bound / (1 + mip_gap)


def _better(phase: Phase, than: Phase) -> bool:
    """Whether ``phase`` found a plan at least as cheap as ``than``'s."""
    mine = math.inf if phase.objective is None else phase.objective
    theirs = math.inf if than.objective is None else than.objective
    return mine <= theirs  # (an objective of exactly 0 is a plan like any other)


def _within(objective: float | None, bound: float | None, mip_gap: float) -> bool:
    """Whether the gap between ``objective`` and ``bound`` is known and at most ``mip_gap``."""
    gap = relative_gap(objective, bound)
    return gap is not None and gap <= mip_gap + GAP_NOISE


def _outcome(phase: Phase) -> SolverOutcome:
    """The outcome of a single run (an LP, or a MIP run that found nothing)."""
    import highspy

    statuses = highspy.HighsModelStatus
    if phase.status == statuses.kOptimal:
        status = PlanStatus.OPTIMAL
    elif phase.status in (statuses.kInfeasible, statuses.kUnboundedOrInfeasible):
        status = PlanStatus.INFEASIBLE
    elif phase.status in (statuses.kTimeLimit, statuses.kIterationLimit, statuses.kSolutionLimit):
        # (run() reports our own interrupt at the deadline as a time limit.)
        status = PlanStatus.FEASIBLE if phase.values is not None else PlanStatus.NO_SOLUTION
    else:
        status = PlanStatus.ERROR
    objective = phase.objective
    bound = objective if status is PlanStatus.OPTIMAL else phase.bound
    return SolverOutcome(status, objective, bound, phase.message, values=phase.values)
