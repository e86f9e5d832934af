"""Stochastic planning: closed forms (newsvendor), VSS and EVPI."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capforecast import PlanStatus, read_planning_inputs, solve
from capforecast.plan.information import value_of_information
from tests.random_instances import write_random_instance


def _has_scenarios(seed: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        write_random_instance(Path(tmp), seed)
        return (Path(tmp) / "scenarios.csv").is_file()


def newsvendor(
    directory: Path, price: float, penalty: float, demand: list[float], probability: list[float]
) -> Path:
    """One period, one SKU, one site, one workload, no energy cost, no lead time: buying
    ``n`` units costs ``price · n + penalty · E[(D - n)+]``."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "catalog.csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime\n"
        f"gpu,{price},1,1.0,0,1\n",
        "sites.csv": "site,pue,energy_price,power_cap_kw\ndc,1.0,0.0,1000000\n",
        "perf.csv": "sku,workload,factor\ngpu,jobs,1.0\n",
        "fleet.csv": "sku,site,units,available_from,retire_period\n",
        "budget.csv": "period,capex_budget\n2027Q1,1e12\n",
        "demand.csv": "workload,period,scenario,demand\n"
        + "".join(f"jobs,2027Q1,s{i},{d}\n" for i, d in enumerate(demand)),
        "scenarios.csv": "scenario,probability\n"
        + "".join(f"s{i},{p!r}\n" for i, p in enumerate(probability)),
        "options.yaml": f"shortfall_penalty: {penalty}\nmip_gap: 0.0\n",
    }
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def expected_cost(
    n: float, price: float, penalty: float, demand: np.ndarray, p: np.ndarray
) -> float:
    return price * n + penalty * float(p @ np.clip(demand - n, 0.0, None))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 400), min_size=1, max_size=6),
    st.lists(st.integers(1, 9), min_size=6, max_size=6),
    st.integers(1, 99),
)
def test_single_period_plan_is_the_newsvendor_critical_fractile(
    demand: list[int], weights: list[int], price_pct: int
) -> None:
    d = np.array(demand, dtype=float)
    p = np.array(weights[: len(d)], dtype=float)
    p /= p.sum()
    price, penalty = float(price_pct), 100.0
    with tempfile.TemporaryDirectory() as tmp:
        inputs = read_planning_inputs(newsvendor(Path(tmp), price, penalty, demand, p.tolist()))
        plan = solve(inputs)
    assert plan.status is PlanStatus.OPTIMAL
    units = float(plan.purchases["units"].sum())
    # Critical fractile: the smallest n with P(D <= n) >= 1 - price / penalty.
    order = np.argsort(d, kind="stable")
    cdf = np.cumsum(p[order])
    fractile = 1 - price / penalty
    best = d[order][np.argmax(cdf >= fractile - 1e-12)]
    closed = expected_cost(best, price, penalty, d, p)
    assert plan.objective == pytest.approx(closed, rel=1e-9, abs=1e-6)
    # Any optimal order is a newsvendor optimum (ties happen when P(D <= n) hits it exactly).
    assert expected_cost(units, price, penalty, d, p) == pytest.approx(closed, rel=1e-9, abs=1e-6)


def test_vss_and_evpi_of_a_two_point_demand_match_their_closed_forms(tmp_path: Path) -> None:
    # D = 0 or 100 with equal odds, price 1, penalty 10: the critical fractile 0.9 buys 100
    # (RP = 100); the mean-demand plan buys 50 and pays 10 · 50 half the time (EEV = 300);
    # knowing the demand costs 0 or 100 (WS = 50).
    inputs = read_planning_inputs(newsvendor(tmp_path, 1.0, 10.0, [0.0, 100.0], [0.5, 0.5]))
    value = value_of_information(inputs)
    assert value.rp == pytest.approx(100.0)
    assert value.eev == pytest.approx(300.0)
    assert value.ws == pytest.approx(50.0)
    assert (value.vss, value.evpi) == pytest.approx((200.0, 50.0))
    assert value.mean_value.purchases["units"].sum() == 50
    assert value.recourse.purchases["units"].sum() == 100


@pytest.mark.parametrize("seed", [s for s in range(60) if _has_scenarios(s)][:4])
def test_wait_and_see_le_recourse_le_mean_value_on_random_instances(seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write_random_instance(Path(tmp), seed)
        inputs = read_planning_inputs(Path(tmp))
        value = value_of_information(inputs)
    slack = 2 * value.max_gap * abs(value.rp) + 1e-6
    assert value.ws <= value.rp + slack
    assert value.rp <= value.eev + slack
    # The mean-value plan's orders are kept when it is evaluated on the scenarios.
    ordered = value.mean_value.purchases[["sku", "site", "order_period", "lots"]]
    evaluated = value.mean_value_evaluated.purchases[["sku", "site", "order_period", "lots"]]
    assert ordered.reset_index(drop=True).equals(evaluated.reset_index(drop=True))


def tail_mean(cost: np.ndarray, probability: np.ndarray, alpha: float) -> float:
    """CVaR_α by its definition: the mean cost over the worst ``1 - α`` of probability."""
    order = np.argsort(-cost)
    mass, total, left = 0.0, 0.0, 1 - alpha
    for i in order:
        take = min(probability[i], left - mass)
        total += take * cost[i]
        mass += take
        if mass >= left - 1e-15:
            break
    return total / left


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.integers(0, 300), min_size=2, max_size=5),
    st.integers(1, 90),
    st.sampled_from([0.5, 0.8, 0.9]),
    st.sampled_from([0.25, 0.5, 1.0]),
)
def test_cvar_plan_minimises_the_mixed_objective(
    demand: list[int], price: int, alpha: float, weight: float
) -> None:
    d = np.array(demand, dtype=float)
    p = np.full(len(d), 1 / len(d))
    with tempfile.TemporaryDirectory() as tmp:
        directory = newsvendor(Path(tmp), float(price), 100.0, demand, p.tolist())
        with (directory / "options.yaml").open("a") as options:
            options.write(f"risk: cvar\ncvar_alpha: {alpha}\ncvar_weight: {weight}\n")
        plan = solve(read_planning_inputs(directory))

    def mixed(n: float) -> float:
        cost = price * n + 100.0 * np.clip(d - n, 0.0, None)
        return (1 - weight) * float(p @ cost) + weight * tail_mean(cost, p, alpha)

    # The objective is convex and piecewise linear in n with kinks at the demands.
    best = min(mixed(n) for n in [0.0, *d])
    assert plan.status is PlanStatus.OPTIMAL
    assert plan.objective == pytest.approx(best, rel=1e-9, abs=1e-6)
    assert mixed(float(plan.purchases["units"].sum())) == pytest.approx(best, rel=1e-9, abs=1e-6)
    scenario_costs = plan.scenario_costs["cost"].to_numpy()
    assert float(p @ scenario_costs) == pytest.approx(sum(plan.costs.values()))


def test_shadow_prices_under_cvar_are_of_the_risk_adjusted_cost(tmp_path: Path) -> None:
    # Demand 0 or 100 at probability 1/2, price 10, penalty 100, budget $500: the plan buys
    # 50. Pure CVaR at alpha 0.5 is the cost of the worse scenario, 10 n + 100 (100 - n):
    # one more dollar buys 1/10 unit and lowers it by 90 / 10 = $9 (the expected cost by
    # only (90 / 2 - 10) / 10 = $3.5): the sentence names the risk-adjusted cost.
    directory = newsvendor(tmp_path, 10.0, 100.0, [0.0, 100.0], [0.5, 0.5])
    (directory / "budget.csv").write_text("period,capex_budget\n2027Q1,500\n")
    with (directory / "options.yaml").open("a") as options:
        options.write("risk: cvar\ncvar_alpha: 0.5\ncvar_weight: 1.0\n")
    plan = solve(read_planning_inputs(directory))
    assert plan.purchases["units"].sum() == 50
    budget = plan.binding[plan.binding["family"] == "budget"]
    assert budget["shadow_price"].tolist() == pytest.approx([-9.0])
    said = [s for s in plan.explanations if s.startswith("The budget")]
    assert said and "lower the risk-adjusted cost by $9,000,000" in said[0]


def test_service_level_meets_demand_in_enough_scenarios(tmp_path: Path) -> None:
    # Shortfall is cheap (penalty 1 < price 10): left alone the plan buys nothing. At a
    # 70% service level it must cover demand in scenarios of probability >= 0.7, so it
    # buys the smallest demand with P(D <= n) >= 0.7: 50.
    demand, probability = [0.0, 20.0, 50.0, 90.0], [0.3, 0.3, 0.2, 0.2]
    directory = newsvendor(tmp_path, 10.0, 1.0, demand, probability)
    assert solve(read_planning_inputs(directory)).purchases.empty
    with (directory / "options.yaml").open("a") as options:
        options.write("service_level: {jobs: 0.7}\n")
    plan = solve(read_planning_inputs(directory))
    assert plan.status is PlanStatus.OPTIMAL
    assert plan.purchases["units"].sum() == 50
    met = plan.shortfall["unmet"] <= 1e-9
    assert plan.shortfall.loc[met, "probability"].sum() >= 0.7


def test_forbidden_shortfall_makes_an_impossible_ask_infeasible(tmp_path: Path) -> None:
    directory = newsvendor(tmp_path, 10.0, 1.0, [0.0, 500.0], [0.5, 0.5])
    (directory / "budget.csv").write_text("period,capex_budget\n2027Q1,1000\n")  # 100 units
    allowed = solve(read_planning_inputs(directory))
    assert allowed.status is PlanStatus.OPTIMAL
    with (directory / "options.yaml").open("a") as options:
        options.write("shortfall: forbid\n")
    forbidden = solve(read_planning_inputs(directory))
    assert forbidden.status is PlanStatus.INFEASIBLE and forbidden.purchases.empty
