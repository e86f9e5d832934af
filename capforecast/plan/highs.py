"""The HiGHS back end: hands a PuLP problem to HiGHS as arrays and solves a MIP in phases.

PuLP's own HiGHS interface adds columns and rows one call at a time, and reports
"Optimal" for runs stopped by their time limit. Here the problem goes to HiGHS as one
sparse matrix, and the values (and, for an LP, the duals and slacks) come back to the PuLP
variables and constraints, so the rest of capforecast sees a solved PuLP problem.

A MIP is solved in up to three phases, all in the one time limit:

1. **LP relaxation.** Its optimum is a bound on the MIP optimum.
2. **Neighbourhood of the LP optimum** (RENS, Berthold 2014): every integer variable is
   kept between the floor and the ceiling of its LP value, so one at 0 stays 0. On planning
   models only a few dozen orders are non-zero in the LP, so this MIP is small. If its
   best plan is within ``mip_gap`` of the phase-1 bound, that plan is optimal within the
   gap and the solve stops.
3. **The whole MIP**, when phase 2 fell short, started from phase 2's plan. The better of
   its plan and phase 2's is kept, and the bound is the larger of the two bounds.

The objective's constant goes to HiGHS as the model's offset. (Were it the cost of a
variable fixed at 1, HiGHS 1.16 would drop it from the value of a start solution when its
presolve removes that column, and could then stop with a wrong "optimal".)
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import pulp

from capforecast.plan.status import PlanStatus, SolverOutcome, relative_gap

logger = logging.getLogger(__name__)

#: Share of the time limit the LP relaxation (phase 1) may use, and share of the time
#: then left that the neighbourhood search (phase 2) may use.
RELAXATION_SHARE = 0.5
NEIGHBOURHOOD_SHARE = 0.25

#: Integer values within this of an integer count as integral.
INTEGRALITY = 1e-6


@dataclass
class Phase:
    """What one HiGHS run ended with (objective computed from the values, constant included)."""

    status: object  # highspy.HighsModelStatus
    message: str
    values: np.ndarray | None
    objective: float | None
    bound: float | None


class HighsProblem:
    """A PuLP problem loaded into HiGHS once, to be solved in phases."""

    def __init__(self, problem: pulp.LpProblem) -> None:
        import highspy

        if problem.sense != pulp.LpMinimize:
            raise ValueError("the HiGHS back end solves minimisation problems")
        self.variables = problem.variables()
        self.constraints = list(problem.constraints())  # PuLP 4 style: a list
        position = {id(v): i for i, v in enumerate(self.variables)}
        n = len(self.variables)
        self.cost = np.zeros(n)
        for variable, coefficient in problem.objective.items():
            self.cost[position[id(variable)]] = coefficient
        self.constant = float(problem.objective.constant)
        self.lower = np.array(
            [-np.inf if v.lowBound is None else v.lowBound for v in self.variables]
        )
        self.upper = np.array([np.inf if v.upBound is None else v.upBound for v in self.variables])
        self.integer = np.array([v.cat == pulp.LpInteger for v in self.variables], dtype=bool)
        sizes = np.fromiter(
            (len(c.keys()) for c in self.constraints), np.int64, len(self.constraints)
        )
        starts = np.r_[0, np.cumsum(sizes)]
        columns = np.fromiter(
            (position[id(v)] for c in self.constraints for v in c), np.int64, int(starts[-1])
        )
        values = np.fromiter(
            (a for c in self.constraints for a in c.values()), float, int(starts[-1])
        )
        rhs = np.array([-c.constant for c in self.constraints])
        senses = np.array([c.sense for c in self.constraints])
        row_lower = np.where(senses == pulp.LpConstraintLE, -np.inf, rhs)
        row_upper = np.where(senses == pulp.LpConstraintGE, np.inf, rhs)

        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, len(self.constraints)
        lp.col_cost_ = self.cost
        lp.col_lower_, lp.col_upper_ = self.lower, self.upper
        lp.row_lower_, lp.row_upper_ = row_lower, row_upper
        lp.offset_ = self.constant
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = starts
        lp.a_matrix_.index_ = columns
        lp.a_matrix_.value_ = values
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, len(self.constraints)
        if self.integer.any():
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                for i in self.integer
            ]
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.passModel(lp)
        # HiGHS can overrun its own time limit by minutes (in cut separation on large
        # models); its interrupt callbacks are still called, and stop the run on time.
        self.deadline = math.inf
        self.highs.cbSimplexInterrupt += self._interrupt
        self.highs.cbMipInterrupt += self._interrupt

    def _interrupt(self, event: object) -> None:
        # Set every time: HiGHS keeps the flag from one run to the next.
        event.interrupt(time.perf_counter() > self.deadline)  # type: ignore[attr-defined]

    def run(
        self,
        *,
        relax: bool,
        mip_gap: float,
        time_limit_s: float,
        start: np.ndarray | None = None,
    ) -> Phase:
        """One HiGHS run on the current bounds, from the solution ``start`` if given."""
        import highspy

        highs = self.highs
        highs.clearSolver()  # nothing of an earlier run carries over, unless given
        if start is not None:
            solution = highspy.HighsSolution()
            solution.col_value = start
            solution.value_valid = True
            highs.setSolution(solution)
        highs.setOptionValue("solve_relaxation", relax)
        highs.setOptionValue("mip_rel_gap", mip_gap)
        highs.setOptionValue("time_limit", max(time_limit_s, 1e-3))
        highs.setOptionValue("threads", 1)
        highs.setOptionValue("random_seed", 0)
        started = time.perf_counter()
        self.deadline = started + time_limit_s
        highs.run()
        self.deadline = math.inf
        status = highs.getModelStatus()
        info = highs.getInfo()
        feasible = info.primal_solution_status == 2  # kSolutionStatusFeasible
        values = np.asarray(highs.getSolution().col_value, dtype=float) if feasible else None
        # From the values, so that it is exactly the PuLP problem's objective.
        objective = self.value(values) if values is not None else None
        mip = self.integer.any() and not relax
        bound = float(info.mip_dual_bound) if mip else None
        if relax and status == highspy.HighsModelStatus.kOptimal:
            bound = objective
        if bound is not None and not math.isfinite(bound):
            bound = None
        message = highs.modelStatusToString(status)
        if status == highspy.HighsModelStatus.kInterrupt:
            status, message = highspy.HighsModelStatus.kTimeLimit, "Time limit reached"
        phase = Phase(status, message, values, objective, bound)
        logger.info(
            "HiGHS %s: %s in %.1f s (limit %.1f s), objective %s, bound %s",
            "LP relaxation" if relax else "MIP",
            phase.message,
            time.perf_counter() - started,
            time_limit_s,
            objective,
            bound,
        )
        return phase

    def value(self, values: np.ndarray) -> float:
        """The problem's objective at ``values``."""
        return float(self.cost @ values + self.constant)

    def restrict_to_neighbourhood(self, relaxed: np.ndarray) -> None:
        """Bound every integer variable between the floor and ceiling of ``relaxed``."""
        columns = np.flatnonzero(self.integer)
        x = relaxed[columns]
        lower = np.maximum(self.lower[columns], np.floor(x + INTEGRALITY))
        upper = np.minimum(self.upper[columns], np.ceil(x - INTEGRALITY))
        self.highs.changeColsBounds(len(columns), columns, lower, np.maximum(lower, upper))

    def restore_bounds(self) -> None:
        """The integer variables back to the problem's own bounds."""
        columns = np.flatnonzero(self.integer)
        self.highs.changeColsBounds(len(columns), columns, self.lower[columns], self.upper[columns])

    def load(self, values: np.ndarray, *, duals: bool) -> None:
        """Give the PuLP variables ``values``; for an LP also the row duals and slacks."""
        for variable, value in zip(self.variables, values, strict=True):
            variable.varValue = float(value)
        if not duals:
            return
        solution = self.highs.getSolution()
        for constraint, activity, dual in zip(
            self.constraints, solution.row_value, solution.row_dual, strict=True
        ):
            # PuLP keeps the right-hand side as a constant on the left (its convention).
            slack = constraint.constant + activity
            constraint.slack = -slack if constraint.sense == pulp.LpConstraintLE else slack
            constraint.pi = dual


def solve(problem: pulp.LpProblem, *, mip_gap: float, time_limit_s: float) -> SolverOutcome:
    """Solve ``problem`` in place with HiGHS (phases above); the PuLP variables get the
    values of the best plan found, and nothing when none was."""
    import highspy

    statuses = highspy.HighsModelStatus
    deadline = time.perf_counter() + time_limit_s
    model = HighsProblem(problem)
    if not model.integer.any():
        phase = model.run(relax=True, mip_gap=mip_gap, time_limit_s=time_limit_s)
        if phase.values is not None:
            model.load(phase.values, duals=phase.status == statuses.kOptimal)
        return _outcome(phase)

    relaxation = model.run(
        relax=True, mip_gap=mip_gap, time_limit_s=RELAXATION_SHARE * time_limit_s
    )
    if relaxation.status in (statuses.kInfeasible, statuses.kUnboundedOrInfeasible):
        return SolverOutcome(
            PlanStatus.INFEASIBLE, None, None, "infeasible (its LP relaxation is infeasible)"
        )
    bound = relaxation.bound
    best: Phase | None = None
    if bound is not None and relaxation.values is not None:
        model.restrict_to_neighbourhood(relaxation.values)
        left = deadline - time.perf_counter()
        best = model.run(relax=False, mip_gap=mip_gap, time_limit_s=NEIGHBOURHOOD_SHARE * left)
        model.restore_bounds()
        if best.values is None:
            best = None
        elif _within(best.objective, bound, mip_gap):
            model.load(best.values, duals=False)
            message = f"optimal within {mip_gap:.4%} of the LP relaxation bound"
            return SolverOutcome(PlanStatus.OPTIMAL, best.objective, bound, message)

    whole = model.run(
        relax=False,
        mip_gap=mip_gap,
        time_limit_s=deadline - time.perf_counter(),
        start=None if best is None else best.values,
    )
    if whole.values is not None and (best is None or _better(whole, best)):
        best = whole
    if best is None or best.values is None:
        return _outcome(whole)  # no plan from any phase
    if whole.bound is not None:
        bound = whole.bound if bound is None else max(bound, whole.bound)
    model.load(best.values, duals=False)
    proven = whole.status == statuses.kOptimal or _within(best.objective, bound, mip_gap)
    status = PlanStatus.OPTIMAL if proven else PlanStatus.FEASIBLE
    return SolverOutcome(status, best.objective, bound, whole.message)


def _better(phase: Phase, than: Phase) -> bool:
    """Whether ``phase`` found a plan at least as cheap as ``than``'s."""
    return (phase.objective or math.inf) <= (than.objective or math.inf)


def _within(objective: float | None, bound: float | None, mip_gap: float) -> bool:
    """Whether the gap between ``objective`` and ``bound`` is known and at most ``mip_gap``."""
    gap = relative_gap(objective, bound)
    return gap is not None and gap <= mip_gap


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
    return SolverOutcome(status, objective, bound, phase.message)
