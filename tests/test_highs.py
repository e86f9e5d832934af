"""The HiGHS back end's phases: what it claims when it stops after the neighbourhood search,
and that the PuLP problem it hands over is the one HiGHS solves."""

from __future__ import annotations

from pathlib import Path

import highspy
import numpy as np
import pulp
import pytest
from scipy import sparse

from benchmarks.instances import write_scaled_instance
from capforecast import PlanStatus, read_planning_inputs
from capforecast.examples import sample_planning_inputs
from capforecast.plan.data import ModelData
from capforecast.plan.highs import HighsProblem
from capforecast.plan.model import build_model
from capforecast.plan.solvers import get_solver

GAP = 1e-3


def _relaxation_optimum(data: ModelData) -> float:
    relaxed = build_model(data).problem
    for variable in relaxed.variables():
        variable.cat = pulp.LpContinuous
    outcome = get_solver("highs").solve(relaxed, mip_gap=0.0, time_limit_s=60.0)
    assert outcome.status is PlanStatus.OPTIMAL and outcome.objective is not None
    return outcome.objective


def test_a_plan_within_the_gap_of_the_lp_bound_is_optimal_with_that_bound(
    tmp_path: Path,
) -> None:
    # On this instance the orders rounded within the LP's floor and ceiling already cost
    # within 0.1% of the LP optimum, so the whole MIP is never run.
    write_scaled_instance(tmp_path, 40, 8, 4, 16, 1, seed=1)
    data = ModelData.from_inputs(read_planning_inputs(tmp_path))
    model = build_model(data)
    outcome = get_solver("highs").solve(model.problem, mip_gap=GAP, time_limit_s=60.0)
    assert outcome.status is PlanStatus.OPTIMAL
    assert outcome.message == "optimal within 0.1000% of the LP relaxation bound"
    assert outcome.objective is not None and outcome.bound is not None
    # The plan in the PuLP variables satisfies every row with whole lots ...
    assert model.problem.valid(1e-6)
    lots = model.buy.values()
    np.testing.assert_allclose(lots, np.rint(lots), atol=1e-9)
    # ... and costs what is reported; the bound is the LP relaxation's optimum.
    assert outcome.objective == pytest.approx(pulp.value(model.problem.objective), rel=1e-12)
    assert outcome.bound == pytest.approx(_relaxation_optimum(data), rel=1e-9)
    assert 0 <= outcome.objective - outcome.bound <= GAP * outcome.objective


def test_highs_gets_the_problem_pulp_describes() -> None:
    # The hand-over as arrays: at any point, HiGHS's row activities and objective equal
    # PuLP's own evaluation of the same values.
    model = build_model(ModelData.from_inputs(sample_planning_inputs()))
    problem = model.problem
    highs = HighsProblem(problem)
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 5, len(highs.variables))
    for variable, value in zip(highs.variables, values, strict=True):
        variable.varValue = float(value)
    assert highs.value(values) == pytest.approx(pulp.value(problem.objective), rel=1e-12)
    lp = highs.highs.getLp()
    matrix = lp.a_matrix_
    parts = (np.asarray(matrix.value_), np.asarray(matrix.index_), np.asarray(matrix.start_))
    shape = (lp.num_row_, lp.num_col_)
    rowwise = matrix.format_ == highspy.MatrixFormat.kRowwise  # HiGHS may store it by column
    a = (sparse.csr_matrix if rowwise else sparse.csc_matrix)(parts, shape=shape)
    activity = a @ values
    for row, constraint in enumerate(highs.constraints):
        assert activity[row] + constraint.constant == pytest.approx(constraint.value(), abs=1e-6)
        if constraint.sense == pulp.LpConstraintLE:
            assert lp.row_upper_[row] == -constraint.constant
        if constraint.sense == pulp.LpConstraintGE:
            assert lp.row_lower_[row] == -constraint.constant
    assert lp.offset_ == pytest.approx(model.objective_constant)


def test_a_run_stopped_at_its_deadline_does_not_stop_the_next() -> None:
    # HiGHS keeps a callback's interrupt flag between runs of one model: a phase stopped at
    # its deadline must not stop the phase after it.
    highs = HighsProblem(build_model(ModelData.from_inputs(sample_planning_inputs())).problem)
    stopped = highs.run(relax=False, mip_gap=0.0, time_limit_s=0.0)
    assert stopped.message == "Time limit reached"
    finished = highs.run(relax=False, mip_gap=GAP, time_limit_s=60.0)
    assert finished.message == "Optimal" and finished.objective is not None
