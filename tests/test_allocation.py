"""The stable allocation (docs/model.md §6.14): among allocations of the same orders that
cost the same, the plan reports the one that spreads shortfall in proportion to demand and
allocates no unit to demand already met; a change that does not alter the orders does
not move shortfall between workloads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capforecast.plan.inputs import read_planning_inputs
from capforecast.plan.solve import solve


def _instance(directory: Path, demand: tuple[int, int], budget: float, fleet: int) -> Path:
    """One quarter; ``fleet`` h100 (1 reference unit each for both workloads), none can be
    added (power cap at the fleet); the same penalty for both workloads, so every split of
    the shortfall costs the same."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "catalog.csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime\nh100,1000,1,1.0,0,1\n",
        "perf.csv": "sku,workload,factor\nh100,chat,1.0\nh100,search,1.0\n",
        "sites.csv": f"site,pue,energy_price,power_cap_kw\ntexas,1.0,0.1,{fleet}\n",
        "fleet.csv": f"sku,site,units,available_from,retire_period\nh100,texas,{fleet},,\n",
        "budget.csv": f"period,capex_budget\n2027Q1,{budget}\n",
        "demand.csv": "workload,period,demand\n"
        f"chat,2027Q1,{demand[0]}\nsearch,2027Q1,{demand[1]}\n",
        "options.yaml": "shortfall_penalty: 5000\nmip_gap: 0\n",
    }
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def _shortfall(directory: Path) -> pd.DataFrame:
    plan = solve(read_planning_inputs(directory))
    return plan.shortfall[["workload", "demand", "served", "unmet"]]


def test_shortfall_is_spread_in_proportion_to_demand(tmp_path: Path) -> None:
    """30 + 10 of demand on 20 units: half of each is unmet (15 and 5), not 20 of one."""
    table = _shortfall(_instance(tmp_path, (30, 10), 0.0, 20))
    assert table["unmet"].tolist() == pytest.approx([15.0, 5.0])
    assert table["served"].tolist() == pytest.approx([15.0, 5.0])


def test_no_unit_serves_demand_already_met(tmp_path: Path) -> None:
    """20 units, demand 4 + 6: the allocation reports 10 units used, not 20."""
    plan = solve(read_planning_inputs(_instance(tmp_path, (4, 6), 0.0, 20)))
    assert plan.allocation["units"].sum() == pytest.approx(10.0)
    assert (plan.shortfall["served"] <= plan.shortfall["demand"] + 1e-9).all()


@settings(max_examples=10, deadline=None)
@given(
    st.tuples(st.integers(0, 60), st.integers(0, 60)),
    st.integers(0, 40),
    st.floats(0.0, 1e6),
)
def test_a_change_that_keeps_the_orders_keeps_the_shortfall(
    demand: tuple[int, int], fleet: int, budget: float
) -> None:
    """A budget change that cannot alter the orders (the power cap allows none) leaves the
    shortfall table as it was, byte for byte."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        first = _shortfall(_instance(Path(tmp) / "a", demand, 0.0, fleet))
        second = _shortfall(_instance(Path(tmp) / "b", demand, budget, fleet))
    assert first.to_csv() == second.to_csv()
    total = sum(demand)
    if total:
        share = max(0.0, 1 - fleet / total)
        expected = [d * share for d in demand]
        assert first["unmet"].tolist() == pytest.approx(expected, abs=1e-6)
