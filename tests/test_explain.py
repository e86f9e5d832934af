"""Shadow prices and their sentences, against values worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from capforecast import PlanStatus, read_planning_inputs, solve
from capforecast.examples import sample_planning_inputs
from capforecast.plan.data import ModelData
from capforecast.plan.explain import FIXED, FLOOR, binding_summary, kind_costs, lps, solve_lp
from capforecast.plan.highs import arrays
from capforecast.plan.highs_process import HighsProblem
from capforecast.plan.inputs import PlanningInputs
from capforecast.plan.model import build_model
from capforecast.plan.program import Program
from capforecast.plan.solvers import get_solver
from tests.test_stochastic import newsvendor

# One period; a unit costs 10 and draws 1 kW (PUE 1, free energy); unmet demand costs 100.
PRICE, PENALTY, DEMAND = 10.0, 100.0, 500.0


def test_a_binding_power_cap_is_worth_the_shortfall_it_would_avoid(tmp_path: Path) -> None:
    directory = newsvendor(tmp_path, PRICE, PENALTY, [DEMAND], [1.0])
    (directory / "sites.csv").write_text("site,pue,energy_price,power_cap_kw\ndc,1.0,0.0,300\n")
    plan = solve(read_planning_inputs(directory))
    assert plan.purchases["units"].sum() == 300  # the cap, not the demand
    power = plan.binding[plan.binding["family"] == "power"]
    assert len(power) == 1 and power["basis"].item() == FLOOR
    # One more kW lets one more unit in: it costs 10 and saves 100 of shortfall.
    assert power["shadow_price"].item() == pytest.approx(-(PENALTY - PRICE))
    assert (
        "One more MW at dc in 2027Q1 would lower the expected cost by $90,000 — +$10,000 of "
        f"cash and -$100,000 of penalty of unmet demand (a valuation, not cash) ({FLOOR})."
    ) in plan.explanations
    demand = plan.binding[plan.binding["family"] == "demand"]
    assert demand["shadow_price"].item() == pytest.approx(PENALTY)
    assert demand["basis"].item() == FIXED


def test_a_binding_budget_is_told_as_the_shortfall_it_would_avoid(tmp_path: Path) -> None:
    directory = newsvendor(tmp_path, PRICE, PENALTY, [DEMAND], [1.0])
    (directory / "budget.csv").write_text("period,capex_budget\n2027Q1,2000\n")  # 200 units
    plan = solve(read_planning_inputs(directory))
    assert plan.purchases["units"].sum() == 200
    budget = plan.binding[plan.binding["family"] == "budget"]
    # One more dollar buys 1/10 unit, which saves 100/10 of shortfall and costs the dollar.
    assert budget["shadow_price"].item() == pytest.approx(-(PENALTY / PRICE - 1))
    # The dollar is cash spent; the $10 it saves is penalty, a valuation.
    assert budget[["cash", "valuation"]].to_numpy()[0] == pytest.approx([1.0, -PENALTY / PRICE])
    expected = (
        "The budget in 2027Q1 is binding: each extra $1M would lower the expected cost by "
        "$9,000,000 — +$1,000,000 of cash and -$10,000,000 of penalty of unmet demand (a "
        f"valuation, not cash) ({FLOOR}). That penalty is 100,000.0 reference unit-periods "
        "of jobs shortfall."
    )
    assert expected in plan.explanations
    summary = binding_summary(plan.binding)
    row = summary[summary["family"] == "budget"]
    assert row["binding"].item() == 1 and row["largest"].item() == pytest.approx(9.0)


def test_explanations_can_be_turned_off_and_are_absent_without_a_plan(tmp_path: Path) -> None:
    directory = newsvendor(tmp_path, PRICE, PENALTY, [DEMAND], [1.0])
    with (directory / "options.yaml").open("a") as options:
        options.write("explain: false\n")
    plan = solve(read_planning_inputs(directory))
    assert plan.binding.empty and plan.explanations == () and plan.explain_seconds == 0.0


def test_an_impossible_ask_is_diagnosed_family_by_family(tmp_path: Path) -> None:
    # Demand of 500 must be met, but the budget buys 100 units and power hosts 300.
    directory = newsvendor(tmp_path, PRICE, PENALTY, [DEMAND], [1.0])
    (directory / "budget.csv").write_text("period,capex_budget\n2027Q1,1000\n")
    (directory / "sites.csv").write_text("site,pue,energy_price,power_cap_kw\ndc,1.0,0.0,300\n")
    with (directory / "options.yaml").open("a") as options:
        options.write("shortfall: forbid\n")
    plan = solve(read_planning_inputs(directory))
    assert plan.status is PlanStatus.INFEASIBLE and plan.purchases.empty
    assert plan.diagnosis == (
        "It becomes feasible with unmet demand: 400.0 reference unit-periods in all "
        "(demand), largest 400.0 reference unit-periods at jobs 2027Q1 (scenario s0).",
        "More budget alone cannot make the plan feasible (budget).",
        "More power alone cannot make the plan feasible (power).",
        "No single limit explains it: budget, power, slots and supply bind together (or "
        "orders cannot arrive in time), and the unmet demand above is what they leave "
        "uncovered.",
    )
    # With power to spare, the budget alone is the conflict: $4M short (400 units at 10).
    (directory / "sites.csv").write_text("site,pue,energy_price,power_cap_kw\ndc,1.0,0.0,1e6\n")
    plan = solve(read_planning_inputs(directory))
    budget = plan.relaxations[plan.relaxations["family"] == "budget"]
    assert budget["relaxation"].item() == pytest.approx(4000.0)
    assert (
        "It becomes feasible with more budget: $4,000 in all (budget), largest $4,000 at "
        "2027Q1." in plan.diagnosis
    )


def _sample(budget_share: float) -> PlanningInputs:
    """The sample with its budgets scaled by ``budget_share``, solved to a 1% gap (fast)."""
    inputs = sample_planning_inputs()
    budget = inputs.budget.assign(capex_budget=inputs.budget["capex_budget"] * budget_share)
    return inputs.with_tables(budget=budget).with_options(mip_gap=0.01)


def test_a_budget_that_leaves_demand_unmet_is_worth_mostly_valuations() -> None:
    # 60% of the sample's budgets: demand goes unmet, and more budget mostly lowers the
    # penalty (and adds terminal value): the dollars of the objective are not cash.
    plan = solve(_sample(0.6))
    assert plan.shortfall["unmet"].sum() > 0
    binding = plan.binding
    assert binding["cash"].notna().all()
    assert (binding["cash"] + binding["valuation"]).to_numpy() == pytest.approx(
        binding["shadow_price"].to_numpy(), rel=1e-9, abs=1e-9
    )
    budget = binding[binding["family"] == "budget"]
    assert not budget.empty
    assert (budget["valuation"] / budget["shadow_price"] > 0.9).all()
    assert budget["valuation_of"].iloc[0] == "penalty and terminal value"  # the largest
    said = [s for s in plan.explanations if s.startswith("The budget")]
    assert said and "of penalty and terminal value (valuations, not cash)" in said[0]


def _moved(program: Program, cash: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each of ``rows``: the change of the objective and of the cash cost per unit of
    its right-hand side moved by a little, the LP re-solved from its optimal basis."""
    problem = HighsProblem(arrays(program))
    problem.run(relax=True, mip_gap=0.0, time_limit_s=60.0)
    highs = problem.highs

    def costs() -> np.ndarray:
        values = np.asarray(highs.getSolution().col_value)
        return np.array([program.cost @ values, cash @ values])

    base, moved = costs(), []
    for row in rows.tolist():
        lower, upper = program.row_lower[row], program.row_upper[row]
        step = 1e-6 * max(1.0, abs(upper if np.isfinite(upper) else lower))
        highs.changeRowBounds(row, lower + step, upper + step)
        highs.run()  # warm started: the same basis while it stays feasible
        moved.append((costs() - base) / step)
        highs.changeRowBounds(row, lower, upper)
    return np.array(moved)


def test_the_cash_part_of_a_shadow_price_is_what_cash_moves_by() -> None:
    # 70% of the sample's budgets: no demand unmet, budgets bind. Demand rows (integer
    # decisions fixed) and budget rows (orders as a floor) against finite differences.
    data = ModelData.from_inputs(_sample(0.7))
    model = build_model(data)
    outcome = get_solver("highs").solve(model.program, mip_gap=0.01, time_limit_s=60.0)
    assert outcome.values is not None
    programs = lps(model, outcome.values, relaxed=False)
    costs = kind_costs(model)
    assert sum(costs.values()) == pytest.approx(model.program.cost)
    for basis, family in ((FIXED, "demand"), (FLOOR, "budget")):
        program = programs[basis]
        solved = solve_lp(program, costs)
        assert solved is not None
        duals, _, parts = solved
        assert sum(parts.values()) == pytest.approx(duals)
        positions = model.rows[family].positions
        rows = positions[np.argsort(-np.abs(duals[positions]))[:3]]
        assert np.abs(duals[rows]).min() > 1e-3  # binding rows
        moved = _moved(program, costs["cash"], rows)
        scale = np.abs(duals[rows]).max()
        assert moved[:, 0] == pytest.approx(duals[rows], rel=1e-4, abs=1e-4 * scale)
        assert moved[:, 1] == pytest.approx(parts["cash"][rows], rel=1e-4, abs=1e-4 * scale)


def test_under_cvar_shadow_prices_are_not_split(tmp_path: Path) -> None:
    # The risk-adjusted cost is not a sum of the cost components: no split, and the budget
    # is told as before, its whole value as the shortfall it avoids.
    directory = newsvendor(tmp_path, PRICE, PENALTY, [DEMAND], [1.0])
    (directory / "budget.csv").write_text("period,capex_budget\n2027Q1,2000\n")
    with (directory / "options.yaml").open("a") as options:
        options.write("risk: cvar\ncvar_weight: 0.5\n")
    plan = solve(read_planning_inputs(directory))
    assert plan.binding["cash"].isna().all() and plan.binding["valuation"].isna().all()
    said = [s for s in plan.explanations if s.startswith("The budget")]
    assert said == [
        "The budget in 2027Q1 is binding: each extra $1M would lower the risk-adjusted cost "
        "by $9,000,000, the penalty of 90,000.0 reference unit-periods of jobs shortfall "
        f"({FLOOR})."
    ]
