"""Hand-worked instances of the second-version families: legacy SKUs, opex and
availability, early retirement with salvage (docs/model.md §6.9-6.11).

Every expected figure is computed by hand in the comments; the library and the independent
reference (:mod:`tests.reference_milp`) must both reproduce it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reference_milp import reference_solve

from capforecast.core.errors import InputError
from capforecast.plan.data import ModelData
from capforecast.plan.inputs import read_planning_inputs
from capforecast.plan.model import build_model, fix_orders
from capforecast.plan.solve import solve
from capforecast.requirement import requirement

#: Energy per unit-period in these instances: 0.1 USD/kWh * PUE 1.0 * 1000 h * load 1.0 = 100
#: USD per kW of an accelerator.
OPTIONS = "hours_per_period: 1000\nload_factor: 1.0\n"
SITES = "site,pue,energy_price,power_cap_kw\ns,1.0,0.1,{cap}\n"


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def _retirement_instance(directory: Path, cap: float, early: bool) -> Path:
    """One quarter, one site at its power cap. ``old`` is a legacy SKU (1 kW, 1 reference
    unit, opex 50 USD per period, salvage 200 USD per unit): 10 units, 10 kW. ``new``
    (1 kW, 2 reference units, 1000 USD, lifetime 1 so no terminal value) fits only where an
    old unit is retired. Demand is 16; the default penalty is 10 * 1000 / 2 = 5000."""
    return _write(
        directory,
        {
            "catalog.csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime,opex\n"
            "old,,,1.0,,,50\nnew,1000,1,1.0,0,1,0\n",
            "perf.csv": "sku,workload,factor\nold,train,1.0\nnew,train,2.0\n",
            "sites.csv": SITES.format(cap=cap),
            "fleet.csv": "sku,site,units,available_from,retire_period,salvage_value\n"
            "old,s,10,,,200\n",
            "budget.csv": "period,capex_budget\n2027Q1,1e6\n",
            "demand.csv": "workload,period,demand\ntrain,2027Q1,16\n",
            "options.yaml": OPTIONS + f"early_retirement: {str(early).lower()}\n",
        },
    )


def test_retirement_pays_for_itself_at_a_site_at_its_power_cap(tmp_path: Path) -> None:
    """Retire r old units, buy n new ones. Power: (10 - r) + n <= 10, so n <= r. Served:
    (10 - r) + 2n >= 16 - unmet. With n = r each pair serves one more reference unit for
    1000 (capex) + 100 (its energy) - 150 (the old unit's energy and opex) - 200 (salvage)
    = 750 USD, against 5000 of penalty: so r = n = 6, which meets demand exactly (a 7th
    pair would only add 750). Cost: capex 6000 + new energy 600 + old energy 4 * 100 = 400
    + old opex 4 * 50 = 200 - salvage 1200 = 6000.

    Without retirement the full site cannot take a new unit: 10 served, 6 unmet, cost
    10 * 150 + 6 * 5000 = 31,500."""
    kept = solve(read_planning_inputs(_retirement_instance(tmp_path / "kept", 10, False)))
    assert kept.objective == pytest.approx(31_500)
    assert kept.purchases.empty and kept.retirements.empty

    folder = _retirement_instance(tmp_path / "refresh", 10, True)
    plan = solve(read_planning_inputs(folder).with_options(mip_gap=0.0))
    assert plan.objective == pytest.approx(6_000)
    assert plan.costs == pytest.approx(
        {"capex": 6000, "energy_existing": 400, "energy_new": 600, "opex": 200}
        | {"salvage": -1200, "terminal_value": 0, "rent": 0, "shortfall": 0}
    )
    assert plan.purchases[["sku", "units"]].values.tolist() == [["new", 6]]
    retired = plan.retirements.assign(period=plan.retirements["period"].astype(str))
    assert retired.to_dict("records") == [
        {"sku": "old", "site": "s", "fleet_row": 2, "period": "2027Q1", "units": 6}
        | {"salvage": 1200.0}
    ]
    # The freed power is used: 4 old + 6 new units draw the 10 kW of the cap.
    assert plan.power["draw_kw"].tolist() == pytest.approx([10.0])
    assert plan.capacity.set_index("sku")["units"].to_dict() == {"old": 4, "new": 6}
    assert plan.summary()["totals"]["units_retired_early"] == 6
    assert plan.explanations[0] == (
        "Retiring 6 old at s in 2027Q1 (fleet.csv row 2) saves $900 of energy and opex per "
        "period, frees 6 kW, and returns $1,200 of salvage."
    )
    written = plan.files()["retirements.csv"].decode().splitlines()
    assert written == ["sku,site,fleet_row,period,units,salvage", "old,s,2,2027Q1,6,1200"]
    reference = reference_solve(folder)
    assert reference.objective == pytest.approx(6_000)
    assert reference.retired.tolist() == [[6.0]]


def test_fixing_the_first_stage_fixes_retirements_too(tmp_path: Path) -> None:
    """``fix_orders`` with a plan's retirements reproduces it; with none (and no orders) it
    is the plan that keeps the fleet: 31,500, as worked out above."""
    inputs = read_planning_inputs(_retirement_instance(tmp_path, 10, True))
    plan = solve(inputs)
    again = solve(inputs, extra_constraints=fix_orders(plan.purchases, plan.retirements))
    assert again.objective == pytest.approx(plan.objective)
    assert again.retirements.equals(plan.retirements)
    nothing = solve(
        inputs, extra_constraints=fix_orders(plan.purchases.iloc[:0], plan.retirements.iloc[:0])
    )
    assert nothing.objective == pytest.approx(31_500)


def test_a_fleet_over_its_power_cap_needs_early_retirement(tmp_path: Path) -> None:
    """At a 9 kW cap the fleet alone (10 kW) is an error that no purchase can fix; with
    early retirement it is a warning, and the plan retires its way under the cap:
    n <= r - 1 and 10 - r + 2n >= 16 give r = 8, n = 7 (one fewer pair leaves a unit unmet
    at 5000). Cost: 7 * 1000 + 7 * 100 + 2 * 150 - 8 * 200 = 6400."""
    with pytest.raises(InputError, match=r"over the power cap of 9\.0 kW"):
        read_planning_inputs(_retirement_instance(tmp_path / "error", 9, False))
    inputs = read_planning_inputs(_retirement_instance(tmp_path / "warning", 9, True))
    assert [(f.check, f.severity) for f in inputs.findings if f.check.startswith("fleet")] == [
        ("fleet_power", "warning")
    ]
    plan = solve(inputs.with_options(mip_gap=0.0))
    assert plan.objective == pytest.approx(6_400)
    assert plan.retirements["units"].tolist() == [8]
    assert reference_solve(tmp_path / "warning").objective == pytest.approx(6_400)


def _legacy_instance(directory: Path, *, legacy: bool) -> Path:
    """Two quarters. H100 (1000 USD, 1 kW, 1 reference unit, lifetime 8); with ``legacy``
    also A100, owned (10 units, 0.5 kW, 0.5 reference units) and no longer sold."""
    catalog = "sku,unit_price,lot_size,power_kw,lead_time,lifetime\nH100,1000,1,1.0,0,8\n"
    perf = "sku,workload,factor\nH100,train,1.0\n"
    fleet = "sku,site,units,available_from,retire_period\n"
    if legacy:
        catalog += "A100,,,0.5,,\n"
        perf += "A100,train,0.5\n"
        fleet += "A100,s,10,,\n"
    return _write(
        directory,
        {
            "catalog.csv": catalog,
            "perf.csv": perf,
            "sites.csv": SITES.format(cap=100),
            "fleet.csv": fleet,
            "budget.csv": "period,capex_budget\n2027Q1,1e6\n2027Q2,1e6\n",
            "options.yaml": OPTIONS,
        },
    )


def test_legacy_sku_in_history_fleet_and_perf_with_no_price(tmp_path: Path) -> None:
    """History: 10 A100 and 6 H100 busy all along, so the requirement is 10 * 0.5 + 6 * 1
    = 11 reference units per quarter. The A100 fleet serves 5; the plan buys 6 H100 in
    2027Q1 and never an A100. Cost: capex 6000 + H100 energy 6 * 100 * 2 = 1200 + A100
    energy 10 * 50 * 2 = 1000 - terminal value 6000 * 6/8 = 4500 (6 of 8 quarters of life
    left after the 2-quarter horizon) = 3700. The default penalty, 10 * 1000 / 1 = 10,000,
    is the same as without the A100 (which has no price to count)."""
    folder = _legacy_instance(tmp_path / "legacy", legacy=True)
    days = pd.date_range("2027-01-01", "2027-06-30", freq="D")
    paths = pd.DataFrame(
        {
            "unique_id": np.repeat(["old", "new"], len(days)),
            "ds": np.tile(days, 2),
            "path": 0,
            "value": np.repeat([10.0, 6.0], len(days)),
        }
    )
    history = pd.DataFrame(
        {"unique_id": ["old", "new"], "workload": ["train", "train"], "sku": ["A100", "H100"]}
    )
    perf = pd.read_csv(folder / "perf.csv")
    periods = pd.period_range("2027Q1", periods=2, freq="Q")
    demand = requirement(paths, history, perf, periods, service_level=0.5, utilization_target=1.0)
    assert demand["demand"].tolist() == pytest.approx([11.0, 11.0])
    demand.assign(period=demand["period"].astype(str)).to_csv(folder / "demand.csv", index=False)

    inputs = read_planning_inputs(folder)
    data = ModelData.from_inputs(inputs)
    assert data.orderable.tolist() == [True, False]
    assert data.penalty.tolist() == [10_000.0]
    model = build_model(data)
    assert set(model.buy.index["s"].tolist()) == {0}  # no order variable for the A100
    plan = solve(inputs.with_options(mip_gap=0.0))
    assert plan.purchases[["sku", "order_period", "units"]].astype(str).values.tolist() == [
        ["H100", "2027Q1", "6"]
    ]
    assert plan.objective == pytest.approx(3_700)
    assert reference_solve(folder).objective == pytest.approx(3_700)

    without = _legacy_instance(tmp_path / "without", legacy=False)
    (without / "demand.csv").write_text((folder / "demand.csv").read_text())
    assert ModelData.from_inputs(read_planning_inputs(without)).penalty.tolist() == [10_000.0]


def test_legacy_sku_validation(tmp_path: Path) -> None:
    """Some but not all order columns empty, a price or supply row for a legacy SKU, and a
    workload that only legacy SKUs serve without a penalty: each named with its place."""
    folder = _legacy_instance(tmp_path, legacy=True)
    (folder / "demand.csv").write_text("workload,period,demand\ntrain,2027Q1,1\ntrain,2027Q2,1\n")
    (folder / "catalog.csv").write_text(
        "sku,unit_price,lot_size,power_kw,lead_time,lifetime\nH100,1000,1,1.0,0,8\nA100,,2,0.5,,\n"
    )
    (folder / "prices.csv").write_text("sku,period,unit_price\nA100,2027Q1,5\n")
    with pytest.raises(InputError) as raised:
        read_planning_inputs(folder)
    text = str(raised.value)
    for column in ("unit_price", "lead_time", "lifetime"):
        assert f"catalog.csv, row 3, column '{column}': missing value: SKU 'A100'" in text
    assert "lot_size" not in text.split("row 3, column")[1].split(":")[0]

    (folder / "catalog.csv").write_text(
        "sku,unit_price,lot_size,power_kw,lead_time,lifetime\nH100,1000,1,1.0,0,8\nA100,,,0.5,,\n"
    )
    (folder / "supply.csv").write_text("sku,period,max_units\nA100,2027Q1,5\n")
    (folder / "perf.csv").write_text("sku,workload,factor\nH100,train,1.0\nA100,infer,0.5\n")
    (folder / "demand.csv").write_text(
        "workload,period,demand\ntrain,2027Q1,1\ntrain,2027Q2,1\ninfer,2027Q1,1\ninfer,2027Q2,1\n"
    )
    with pytest.raises(InputError) as raised:
        read_planning_inputs(folder)
    text = str(raised.value)
    assert "prices.csv, row 2, column 'sku': 'A100' is a legacy SKU" in text
    assert "supply.csv, row 2, column 'sku': 'A100' is a legacy SKU" in text
    assert "workload 'infer' is served only by legacy SKUs ['A100']" in text
    # An explicit penalty for it is all it needs.
    (folder / "prices.csv").unlink()
    (folder / "supply.csv").unlink()
    (folder / "options.yaml").write_text(OPTIONS + "shortfall_penalty: {infer: 777}\n")
    data = ModelData.from_inputs(read_planning_inputs(folder))
    assert data.penalty.tolist() == [10_000.0, 777.0]


def test_opex_and_availability(tmp_path: Path) -> None:
    """One quarter, no fleet. G: 1000 USD, 1 kW, lifetime 1, opex 300, availability 0.8.
    Demand 8 needs 8 / 0.8 = 10 installed units: capex 10,000 + energy 10 * 100 = 1000 +
    opex 10 * 300 = 3000 = 14,000 (penalty 10 * 1000 = 10,000 per unit: all met)."""
    folder = _write(
        tmp_path,
        {
            "catalog.csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime,opex,availability\n"
            "G,1000,1,1.0,0,1,300,0.8\n",
            "perf.csv": "sku,workload,factor\nG,train,1.0\n",
            "sites.csv": SITES.format(cap=100),
            "fleet.csv": "sku,site,units,available_from,retire_period\n",
            "budget.csv": "period,capex_budget\n2027Q1,1e6\n",
            "demand.csv": "workload,period,demand\ntrain,2027Q1,8\n",
            "options.yaml": OPTIONS,
        },
    )
    plan = solve(read_planning_inputs(folder).with_options(mip_gap=0.0))
    assert plan.purchases["units"].tolist() == [10]
    assert plan.objective == pytest.approx(14_000)
    assert plan.costs["opex"] == pytest.approx(3_000)
    assert reference_solve(folder).objective == pytest.approx(14_000)
    (folder / "catalog.csv").write_text(
        "sku,unit_price,lot_size,power_kw,lead_time,lifetime,availability\nG,1000,1,1.0,0,1,0\n"
    )
    with pytest.raises(InputError, match="column 'availability': must be > 0"):
        read_planning_inputs(folder)
