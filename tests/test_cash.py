"""Cash apart from penalty (issue: numbers finance can book): the plan's cash is the sum
of its own tables, on the sample and on a hand-made company, in every view (``plan.json``,
the HTML report, the workbook, ``repr``); the penalty of unmet demand is shown apart as a
valuation; and a comparison reports differences inside the MIP gaps as no change."""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capforecast.examples import sample_planning_inputs
from capforecast.plan.inputs import PlanningInputs, planning_inputs, write_planning_inputs
from capforecast.plan.result import CASH_COLUMNS, Plan
from capforecast.plan.solve import solve
from capforecast.report.html import _number, comparison_report
from capforecast.report.workbook import comparison_sheets
from capforecast.scenario.compare import compare
from capforecast.scenario.run import ScenarioRun
from capforecast.scenario.spec import Scenario

PERIODS = [str(p) for p in pd.period_range("2027Q1", periods=6, freq="Q")]


def company() -> PlanningInputs:
    """A small company that uses every kind of cash and leaves demand unmet: a legacy
    H100 fleet (retired early for salvage), B200 on a tight budget, on-demand rent with a
    cap, a reserved cloud contract, and an explicit penalty."""
    catalog = pd.DataFrame(
        {
            "sku": ["H100", "B200"],
            "unit_price": [None, 75_000],
            "lot_size": [None, 8],
            "power_kw": [1.275, 1.79],
            "lead_time": [None, 1],
            "lifetime": [None, 20],
            "opex": [1_200, 1_900],
            "accounting_life": [None, 12],
        }
    )
    perf = pd.DataFrame(
        {"sku": ["H100", "B200"], "workload": ["training", "training"], "factor": [1.0, 2.0]}
    )
    sites = pd.DataFrame(
        {"site": ["texas"], "pue": [1.2], "energy_price": [0.07], "power_cap_kw": [3_000]}
    )
    fleet = pd.DataFrame(
        {
            "sku": ["H100"],
            "site": ["texas"],
            "units": [1_000],
            "available_from": [None],
            "retire_period": [None],
            "salvage_value": [9_000],
        }
    )
    demand = pd.DataFrame(
        {"workload": "training", "period": PERIODS, "demand": np.linspace(1_500, 3_000, 6)}
    )
    rent = pd.DataFrame(
        {"workload": "training", "period": PERIODS, "price": 9_000.0, "max_units": 150.0}
    )
    offers = pd.DataFrame(
        {"offer": ["reserve"], "workload": ["training"], "price": [7_000.0], "term": [2],
         "max_units": [100.0], "notice": [0]}
    )  # fmt: skip
    budget = pd.DataFrame({"period": PERIODS, "capex_budget": 30_000_000.0})
    return planning_inputs(
        catalog=catalog,
        perf=perf,
        sites=sites,
        fleet=fleet,
        demand=demand,
        rent=rent,
        cloud_offers=offers,
        budget=budget,
        options={
            "discount_rate": 0.02,
            "early_retirement": True,
            "shortfall_penalty": 20_000.0,
            "explain": False,
        },
    )


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {
        "sample": solve(sample_planning_inputs().with_options(explain=False)),
        "company": solve(company()),
    }


def _expected(plan: Plan, column: str) -> pd.Series:
    """``column`` of a scenario-level table weighted by the scenarios' probabilities."""
    weights = plan.scenario_costs.set_index("scenario")["probability"]
    table = plan.rent
    return table[column] * table["scenario"].map(weights)


@pytest.mark.parametrize("name", ["sample", "company"])
def test_the_cash_is_the_sum_of_the_plans_own_tables(plans: dict[str, Plan], name: str) -> None:
    plan = plans[name]
    cash = plan.cash.set_index("period")
    assert cash["capex"].sum() == pytest.approx(plan.purchases["capex"].sum())
    assert cash["energy"].sum() == pytest.approx(plan.power["energy_cost"].sum())
    assert cash["rent"].sum() == pytest.approx(_expected(plan, "cost").sum())
    assert cash["cloud_offers"].sum() == pytest.approx(plan.offers["cost"].sum())
    assert cash["salvage"].sum() == pytest.approx(-plan.retirements["salvage"].sum())
    # Capex in the period it is paid: the spend table's, by budget period.
    assert cash["capex"].sum() == pytest.approx(plan.spend["capex"].sum())
    parts = cash[list(CASH_COLUMNS[1:-1])].sum(axis=1)
    np.testing.assert_allclose(cash["total"], parts)
    assert plan.cash_total == pytest.approx(cash["total"].sum())
    # The objective is the cash's present value plus the valuations, nothing else.
    valuations = plan.cost_of("valuation") + plan.penalty
    assert plan.objective == pytest.approx(plan.cash_present_value + valuations)
    document = json.loads(plan.files()["plan.json"])
    assert document["cash"]["total"] == pytest.approx(plan.cash_total, rel=1e-9)
    assert document["cash"]["capex"] == pytest.approx(plan.purchases["capex"].sum(), rel=1e-9)
    assert document["valuations"]["penalty"] == pytest.approx(plan.penalty, abs=1e-6)


def test_the_company_uses_every_kind_of_cash_and_leaves_demand_unmet(
    plans: dict[str, Plan],
) -> None:
    plan = plans["company"]
    sums = plan.cash[list(CASH_COLUMNS[1:-1])].sum()
    assert (sums.drop("salvage") > 0).all(), sums
    assert sums["salvage"] < 0
    assert plan.expected_unmet > 0 and plan.penalty > 0
    # The penalty is the unmet demand at its rate, discounted: not in the cash.
    unmet = plan.shortfall.assign(t=plan.shortfall["period"].map(list(plan.cash["period"]).index))
    discounted = (unmet["unmet"] * unmet["probability"] * (1 / 1.02) ** unmet["t"]).sum()
    assert plan.penalty == pytest.approx(20_000 * discounted)
    row = plan.penalties.iloc[0]
    assert (row["penalty_per_period"], row["source"]) == (20_000, "options.yaml")


@pytest.mark.parametrize("name", ["sample", "company"])
def test_the_report_and_workbook_show_the_cash_and_the_penalty_apart(
    plans: dict[str, Plan], tmp_path: Path, name: str
) -> None:
    inputs = company() if name == "company" else sample_planning_inputs()
    write_planning_inputs(inputs, tmp_path)
    scenario = Scenario(name=name, inputs={"planning": tmp_path})  # type: ignore[arg-type]
    plan = plans[name]
    run = ScenarioRun(scenario, inputs, plan, 0.0)
    comparison = compare({name: plan})
    page = comparison_report([run], comparison)
    table = plan.cost_table().set_index("component")
    for component in CASH_COLUMNS[1:]:
        shown = f"<td>{html.escape(_number(float(table.loc[component, 'cash'])))}</td>"
        assert shown in page, component
    assert f"<td>{_number(plan.penalty)}</td>" in page
    assert "not cash" in page
    sheets = comparison_sheets([run], comparison)
    costs = sheets["costs"].set_index("component")
    assert costs.loc["total", "cash"] == pytest.approx(plan.purchases["capex"].sum()
        + plan.power["energy_cost"].sum() + _expected(plan, "cost").sum()
        + plan.offers["cost"].sum() + plan.cash["opex"].sum()
        - plan.retirements["salvage"].sum())  # fmt: skip
    assert costs.loc["shortfall", "kind"] == "penalty" and np.isnan(costs.loc["shortfall", "cash"])
    assert {"fiscal_years", "capex_by_vendor", "depreciation", "tco"} <= set(sheets)


def test_repr_is_a_compact_summary(plans: dict[str, Plan]) -> None:
    plan = plans["company"]
    text = repr(plan)
    lines = text.splitlines()
    assert len(lines) <= 8, text
    assert lines[0].startswith(f"Plan: {plan.status}, gap ")
    assert "cash $" in text and "present value" in text
    assert "penalty of unmet demand" in text and "not cash" in text
    bought = int(plan.purchases["units"].sum())
    assert f"orders: B200 {bought:,} (units)" in text


def _within_the_gap(plan: Plan, fraction: float) -> Plan:
    """``plan`` with the same orders and ``fraction`` of its MIP gap moved from rent to
    shortfall: what another solve of the same inputs may return."""
    allowed = abs(plan.objective or 0.0) * (plan.gap or 0.0)
    extra = fraction * allowed
    costs = dict(plan.costs)
    costs["shortfall"] += extra
    shortfall = plan.shortfall.copy()
    shortfall.loc[0, "unmet"] += extra / 20_000
    return dataclasses.replace(
        plan, costs=costs, shortfall=shortfall, objective=(plan.objective or 0.0) + extra
    )


def test_a_difference_inside_the_gaps_with_the_same_orders_is_no_change(
    plans: dict[str, Plan],
) -> None:
    plan = plans["company"]
    assert plan.gap is not None and plan.gap > 0  # else there is nothing to allow
    result = compare({"base": plan, "again": _within_the_gap(plan, 0.9)})
    (line,) = result.summary
    assert line.startswith("again against base: no change (orders identical;"), line
    assert result.deltas.loc["again", ["total_cost", "expected_shortfall"]].eq(0).all()
    assert result.within_gap.loc["again", "expected_shortfall"]
    beyond = compare({"base": plan, "again": _within_the_gap(plan, 2.5)})
    assert "expected shortfall" in beyond.summary[0] and "no change" not in beyond.summary[0]
    assert beyond.deltas.loc["again", "expected_shortfall"] > 0


def test_two_solves_with_identical_orders_compare_as_no_change() -> None:
    inputs = sample_planning_inputs().with_options(explain=False)
    first, second = solve(inputs), solve(inputs.with_options(explain=False, time_limit_s=59.0))
    pd.testing.assert_frame_equal(first.purchases, second.purchases)
    (line,) = compare({"base": first, "again": second}).summary
    assert line.startswith("again against base: no change (orders identical"), line
