"""Honest solver status: what a user sees when a solve stops early, finds nothing, has no
feasible plan, or is given inputs that would make the model unbounded.

PuLP reports "Optimal" for HiGHS and CBC runs stopped by their time limit, and "Not
Solved" with whatever values CBC left in the variables when it found nothing. These tests
run the real solvers into those cases on the bundled sample (at a zero gap neither
proves optimality within seconds) and check that capforecast says what happened.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pulp
import pytest

from capforecast import InputError, PlanStatus, SolverError, read_planning_inputs, solve
from capforecast.examples import sample_planning_dir, sample_planning_inputs
from capforecast.plan.data import ModelData
from capforecast.plan.model import build_model
from capforecast.plan.result import Plan
from capforecast.plan.solvers import get_solver


def _stopped(solver: str, seconds: float) -> Plan:
    inputs = sample_planning_inputs().with_options(
        solver=solver, mip_gap=0.0, time_limit_s=seconds, explain=False
    )
    return solve(inputs)


def test_highs_stopped_by_its_time_limit_reports_feasible_with_bound_and_gap() -> None:
    data = ModelData.from_inputs(sample_planning_inputs())
    problem, _ = build_model(data).program.to_pulp()
    problem.solve(pulp.HiGHS(msg=False, gapRel=0.0, timeLimit=2.0, threads=1))
    assert problem.status == pulp.LpStatusOptimal  # PuLP's own HiGHS interface says so
    outcome = get_solver("highs").solve(build_model(data).program, mip_gap=0.0, time_limit_s=2.0)
    assert outcome.status is PlanStatus.FEASIBLE and outcome.message == "Time limit reached"
    plan = _stopped("highs", 2.0)
    assert plan.status is PlanStatus.FEASIBLE and plan.has_solution
    assert plan.bound is not None and plan.objective is not None and plan.gap is not None
    assert plan.bound < plan.objective and 0 < plan.gap < 0.01
    assert not plan.purchases.empty
    assert plan.raise_for_status() is plan  # a feasible plan is a plan


def test_cbc_stopped_by_its_time_limit_is_feasible_not_optimal() -> None:
    plan = _stopped("cbc", 2.0)
    assert plan.status is PlanStatus.FEASIBLE
    assert plan.message == (
        "stopped at the time limit with a solution, optimality not proven (PuLP reports 'Optimal')"
    )
    assert plan.objective is not None and plan.bound is None and plan.gap is None


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_a_solve_that_found_nothing_is_never_a_plan(solver: str) -> None:
    plan = _stopped(solver, 0.001)
    assert plan.status is PlanStatus.NO_SOLUTION and not plan.has_solution
    assert plan.objective is None and plan.bound is None and plan.costs == {}
    assert plan.purchases.empty and plan.capacity.empty  # no values left by the solver
    with pytest.raises(SolverError, match="no_solution"):
        plan.raise_for_status()


def test_inputs_that_would_make_the_model_unbounded_are_rejected(tmp_path: Path) -> None:
    # A negative price or penalty would pay the plan to buy without limit, an infinite
    # budget would leave it unbounded in spend: the loader refuses each, naming the place.
    directory = tmp_path / "inputs"
    shutil.copytree(sample_planning_dir(), directory)
    catalog = pd.read_csv(directory / "catalog.csv")
    catalog.loc[1, "unit_price"] = -5  # H200 (row 0, H100, is a legacy SKU: no price)
    catalog.to_csv(directory / "catalog.csv", index=False)
    budget = pd.read_csv(directory / "budget.csv")
    budget["capex_budget"] = budget["capex_budget"].astype(object)
    budget.loc[0, "capex_budget"] = "inf"
    budget.to_csv(directory / "budget.csv", index=False)
    (directory / "options.yaml").write_text("shortfall_penalty: -3\n")
    with pytest.raises(InputError) as caught:
        read_planning_inputs(directory)
    message = str(caught.value)
    assert "catalog.csv, row 3, column 'unit_price': must be >= 0, got '-5.0'" in message
    assert "budget.csv, row 2, column 'capex_budget': expected a number, got 'inf'" in message
    assert "options.yaml, line 1, key 'shortfall_penalty'" in message and "must be >= 0" in message
