"""Shadow prices and their sentences, against values worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from capforecast import PlanStatus, read_planning_inputs, solve
from capforecast.plan.explain import FIXED, FLOOR, binding_summary
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
    assert f"One more MW at dc in 2027Q1 would lower the expected cost by $90,000 ({FLOOR})." in (
        plan.explanations
    )
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
    expected = (
        "The budget in 2027Q1 is binding: each extra $1M would lower the expected cost by "
        "$9,000,000, the penalty of 90,000.0 reference unit-periods of jobs shortfall "
        f"({FLOOR})."
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
