"""Commercial terms (docs/model.md §6.15-6.19), each on a hand-worked instance: vendor
shares, minimum order sizes, committed volumes, budgets by year with capex charged at
order or delivery, and reserved cloud contracts.

The base instance: one site with power to spare, no energy cost, one workload "jobs"
needing 10 reference units in 2027Q1-Q2 and 20 in Q3-Q4; SKU ``gpu`` (vendor nv, $100)
and ``alt`` (vendor amd, $120), one unit per lot, no lead time, no terminal value. The
plan without terms buys 10 gpu in Q1 and 10 in Q3: $2,000.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capforecast.core.errors import InputError
from capforecast.plan.inputs import read_planning_inputs
from capforecast.plan.solve import solve
from capforecast.plan.status import PlanStatus

BASE = {
    "catalog.csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime,vendor,min_lots\n"
    "gpu,100,1,1.0,0,8,nv,\nalt,120,1,1.0,0,8,amd,\n",
    "sites.csv": "site,pue,energy_price,power_cap_kw\ndc,1.0,0.0,1000\n",
    "perf.csv": "sku,workload,factor\ngpu,jobs,1.0\nalt,jobs,1.0\n",
    "fleet.csv": "sku,site,units,available_from,retire_period\n",
    "budget.csv": "period,capex_budget\n2027,100000\n",
    "demand.csv": "workload,period,demand\n"
    "jobs,2027Q1,10\njobs,2027Q2,10\njobs,2027Q3,20\njobs,2027Q4,20\n",
    "options.yaml": "shortfall_penalty: 1000\nterminal_value: none\nmip_gap: 0\n",
}


def _instance(directory: Path, **changes: str) -> Path:
    """The base instance with some files replaced (``catalog_csv=...``)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = BASE | {
        name.replace("_csv", ".csv").replace("_yaml", ".yaml"): text
        for name, text in changes.items()
    }
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def _plan(directory: Path):
    plan = solve(read_planning_inputs(directory))
    assert plan.status is PlanStatus.OPTIMAL, plan.message
    return plan


def _units(plan, sku: str) -> int:
    bought = plan.purchases[plan.purchases["sku"] == sku]
    return int(bought["units"].sum())


def test_the_base_plan(tmp_path: Path) -> None:
    plan = _plan(_instance(tmp_path))
    assert plan.objective == pytest.approx(2000.0)
    assert plan.spend["period"].astype(str).tolist() == ["2027"]  # one row: the year
    vendors = plan.vendors.set_index("vendor")
    assert vendors.loc["nv", "share"] == 1.0 and vendors.loc["amd", "capex"] == 0.0


def test_a_vendor_share_cap(tmp_path: Path) -> None:
    # nv at most 50% of capex: 100 x <= 0.5 (100 x + 120 y) with x + y = 20 needs
    # y >= 9.09, so 10 of each: $1,000 + $1,200 = $2,200.
    plan = _plan(_instance(tmp_path, vendor_limits_csv="vendor,max_share\nnv,0.5\n"))
    assert plan.objective == pytest.approx(2200.0)
    assert (_units(plan, "gpu"), _units(plan, "alt")) == (10, 10)
    vendors = plan.vendors.set_index("vendor")
    assert vendors.loc["nv", "share"] == pytest.approx(1000 / 2200)
    assert vendors.loc["nv", "max_share"] == 0.5


def test_a_vendor_share_floor(tmp_path: Path) -> None:
    # amd at least 50%: 120 y >= 0.5 (100 x + 120 y), the same plan as the cap above.
    limits = "vendor,max_share,min_share\namd,1,0.5\n"
    plan = _plan(_instance(tmp_path, vendor_limits_csv=limits))
    assert plan.objective == pytest.approx(2200.0)
    assert _units(plan, "alt") == 10


def test_a_minimum_order_size(tmp_path: Path) -> None:
    # At 10% a quarter, 10 gpu in Q1 and 10 in Q3 cost 1000 + 1000/1.1^2 = 1,826.45. With
    # min_lots 15 an order is 0 or >= 15: 20 in Q1 ($2,000) beats 15 + 15 ($2,739.67)
    # and 15 with 5 short in Q3 and Q4.
    catalog = BASE["catalog.csv"].replace("gpu,100,1,1.0,0,8,nv,", "gpu,100,1,1.0,0,8,nv,15")
    options = BASE["options.yaml"] + "discount_rate: 0.1\n"
    alone = "sku,workload,factor\ngpu,jobs,1.0\n"
    free = _plan(_instance(tmp_path / "free", perf_csv=alone, options_yaml=options))
    assert free.objective == pytest.approx(1000 + 1000 / 1.21)
    plan = _plan(
        _instance(tmp_path / "min", catalog_csv=catalog, perf_csv=alone, options_yaml=options)
    )
    assert plan.objective == pytest.approx(2000.0)
    assert plan.purchases["units"].tolist() == [20]


def test_a_committed_volume(tmp_path: Path) -> None:
    # Take-or-pay: at least 30 gpu ordered in Q2. 10 in Q1 and 30 in Q2: $4,000.
    supply = "sku,period,min_units\ngpu,2027Q2,30\n"
    plan = _plan(_instance(tmp_path, supply_csv=supply))
    assert plan.objective == pytest.approx(4000.0)
    ordered = plan.purchases.groupby(plan.purchases["order_period"].astype(str))["units"].sum()
    assert ordered.to_dict() == {"2027Q1": 10, "2027Q2": 30}


def test_budget_by_year_and_capex_at_delivery(tmp_path: Path) -> None:
    # Horizon 2027Q3..2028Q2, lead time 1, demand 0, 10, 20, 20. The 2027 row covers only
    # Q3 and Q4, with its whole $1,500. Charged at order, the 20 units that 2028Q1 needs
    # (ordered in 2027) would cost $2,000: 15 are bought, 5 are short in 2028Q1 ($5,000)
    # and 5 more ordered in 2028Q1 for Q2 ($500): $7,000. Charged at delivery, the order
    # of 2027Q4 is paid in 2028: $2,000.
    files = {
        "catalog_csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime\ngpu,100,1,1.0,1,8\n",
        "perf_csv": "sku,workload,factor\ngpu,jobs,1.0\n",
        "budget_csv": "period,capex_budget\n2026,0\n2027,1500\n2028,100000\n",
        "demand_csv": "workload,period,demand\n"
        "jobs,2027Q3,0\njobs,2027Q4,10\njobs,2028Q1,20\njobs,2028Q2,20\n",
    }
    at_order = _plan(_instance(tmp_path / "order", **files))
    assert at_order.objective == pytest.approx(7000.0)
    spend = at_order.spend.assign(period=at_order.spend["period"].astype(str))
    assert spend[["period", "capex", "budget"]].values.tolist() == [
        ["2027", 1500.0, 1500.0],
        ["2028", 500.0, 100000.0],
    ]  # the 2026 row covers no horizon period: ignored
    options = BASE["options.yaml"] + "capex_timing: delivery\n"
    at_delivery = _plan(_instance(tmp_path / "delivery", **files, options_yaml=options))
    assert at_delivery.objective == pytest.approx(2000.0)
    spend = at_delivery.spend
    assert spend["capex"].sum() == 2000.0 and (spend["capex"] <= spend["budget"]).all()


def test_a_reserved_cloud_contract(tmp_path: Path) -> None:
    # Demand 20 in Q3 and Q4 only; gpu at $300. The offer: $50 per unit-period for 2
    # periods after 1 period of notice, at most 10 active. Signing 10 in Q2 (active Q3,
    # Q4: $1,000) and buying 10 gpu ($3,000) beats 20 gpu ($6,000).
    files = {
        "catalog_csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime\ngpu,300,1,1.0,0,8\n",
        "perf_csv": "sku,workload,factor\ngpu,jobs,1.0\n",
        "demand_csv": "workload,period,demand\n"
        "jobs,2027Q1,0\njobs,2027Q2,0\njobs,2027Q3,20\njobs,2027Q4,20\n",
        "cloud_offers_csv": "offer,workload,price,term,max_units,notice\nreserve,jobs,50,2,10,1\n",
    }
    plan = _plan(_instance(tmp_path, **files))
    assert plan.objective == pytest.approx(4000.0)
    assert plan.costs["cloud_offers"] == pytest.approx(1000.0)
    signed = plan.offers.assign(
        **{c: plan.offers[c].astype(str) for c in ("signed", "first_period", "last_period")}
    )
    assert signed[
        ["offer", "signed", "units", "first_period", "last_period", "cost"]
    ].values.tolist() == [["reserve", "2027Q2", 10.0, "2027Q3", "2027Q4", 1000.0]]
    reserved = plan.shortfall.set_index(plan.shortfall["period"].astype(str))["reserved"]
    assert reserved.to_dict() == {"2027Q1": 0.0, "2027Q2": 0.0, "2027Q3": 10.0, "2027Q4": 10.0}


@pytest.mark.parametrize(
    ("changes", "file", "words"),
    [
        (
            {"vendor_limits_csv": "vendor,max_share\nintel,0.5\n"},
            "vendor_limits.csv",
            "unknown vendor 'intel'",
        ),
        (
            {"vendor_limits_csv": "vendor,max_share,min_share\nnv,0.4,0.6\n"},
            "vendor_limits.csv",
            "min_share (0.6) is above max_share (0.4)",
        ),
        ({"supply_csv": "sku,period\ngpu,2027Q2\n"}, "supply.csv", "needs a 'max_units' column"),
        (
            {"supply_csv": "sku,period,max_units,min_units\ngpu,2027Q2,5,8\n"},
            "supply.csv",
            "min_units (8) is above max_units (5)",
        ),
        (
            {"budget_csv": "period,capex_budget\n2027Q1,5\n2027,10\n"},
            "budget.csv",
            "one frequency per file",
        ),
        (
            {"budget_csv": "period,capex_budget\n2028,5\n"},
            "budget.csv",
            "no budget row for 2027Q1 (budget period 2027)",
        ),
        (
            {"cloud_offers_csv": "offer,workload,price,term,max_units\nr,nosuch,1,1,\n"},
            "cloud_offers.csv",
            "unknown workload 'nosuch'",
        ),
        (
            {"cloud_offers_csv": "offer,workload,price,term,max_units,region\nr,jobs,1,1,,us\n"},
            "cloud_offers.csv",
            "cannot name one",
        ),
        (
            {"cloud_offers_csv": "offer,workload,price,term,max_units\nr,jobs,1,9e18,\n"},
            "cloud_offers.csv",
            "must be >= 1 and <= 1e+06",
        ),
    ],
)
def test_commercial_terms_are_validated(
    tmp_path: Path, changes: dict[str, str], file: str, words: str
) -> None:
    with pytest.raises(InputError) as raised:
        read_planning_inputs(_instance(tmp_path, **changes))
    assert any(p.file == file and words in p.message for p in raised.value.problems), str(
        raised.value
    )


def test_a_commitment_that_cannot_arrive_is_an_error(tmp_path: Path) -> None:
    catalog = "sku,unit_price,lot_size,power_kw,lead_time,lifetime\ngpu,100,1,1.0,2,8\n"
    supply = "sku,period,min_units\ngpu,2027Q3,5\n"
    with pytest.raises(InputError, match="arrive in 2028Q1"):
        read_planning_inputs(
            _instance(
                tmp_path,
                catalog_csv=catalog,
                supply_csv=supply,
                perf_csv="sku,workload,factor\ngpu,jobs,1.0\n",
            )
        )


def test_an_impossible_commitment_is_diagnosed(tmp_path: Path) -> None:
    # 30 gpu committed in Q2 cost $3,000 against a 2027 budget of $2,500: no plan. The
    # diagnosis says by how much the commitment or the budget must give: 5 units, $500.
    files = {
        "supply_csv": "sku,period,min_units\ngpu,2027Q2,30\n",
        "budget_csv": "period,capex_budget\n2027,2500\n",
    }
    plan = solve(read_planning_inputs(_instance(tmp_path, **files)))
    assert plan.status is PlanStatus.INFEASIBLE
    said = " ".join(plan.diagnosis)
    assert "smaller committed volumes: 5.0 accelerators in all (supply_min)" in said, said
    assert "more budget: $500 in all (budget)" in said, said
    relaxed = plan.relaxations.set_index("family")
    assert relaxed.loc["supply_min", "sku"] == "gpu"
    assert relaxed.loc["budget", "period"] == "2027"


def test_a_vendor_floor_met_exactly(tmp_path: Path) -> None:
    # alt at $150 and amd at least 60%: 150 y >= 0.6 (100 x + 150 y) is y >= x, so 10 of
    # each: $1,000 + $1,500 = $2,500, amd exactly 60%.
    catalog = BASE["catalog.csv"].replace("alt,120,", "alt,150,")
    limits = "vendor,max_share,min_share\namd,1,0.6\n"
    plan = _plan(_instance(tmp_path, catalog_csv=catalog, vendor_limits_csv=limits))
    assert plan.objective == pytest.approx(2500.0)
    assert plan.vendors.set_index("vendor").loc["amd", "share"] == pytest.approx(0.6)


def test_terms_that_can_never_apply_are_warned(tmp_path: Path) -> None:
    # A notice past the horizon's end, and a minimum order no site's power could take.
    catalog = BASE["catalog.csv"].replace("gpu,100,1,1.0,0,8,nv,", "gpu,100,1,1.0,0,8,nv,5000")
    offers = "offer,workload,price,term,max_units,notice\nlate,jobs,1,1,,4\n"
    inputs = read_planning_inputs(_instance(tmp_path, catalog_csv=catalog, cloud_offers_csv=offers))
    found = {f.check: str(f.problem) for f in inputs.findings}
    assert "cloud_offers.csv, row 2, column 'notice'" in found["offer_never_active"]
    assert "SKU 'gpu' has min_lots 5000" in found["min_lots_too_large"]
    plan = _plan(tmp_path)
    assert _units(plan, "gpu") == 0 and plan.offers.empty


def test_more_power_is_diagnosed_with_a_minimum_order(tmp_path: Path) -> None:
    # 5 kW, demand up to 20 and shortfall forbidden: 40 kW more in all, with or without a
    # minimum order of 2 lots (its bound must not hold the power relaxation back).
    for lots in ("", "2"):
        folder = _instance(
            tmp_path / f"lots{lots}",
            catalog_csv="sku,unit_price,lot_size,power_kw,lead_time,lifetime,min_lots\n"
            f"gpu,100,1,1.0,0,8,{lots}\n",
            perf_csv="sku,workload,factor\ngpu,jobs,1.0\n",
            sites_csv="site,pue,energy_price,power_cap_kw\ndc,1.0,0.0,5\n",
            options_yaml="shortfall: forbid\nterminal_value: none\nmip_gap: 0\n",
        )
        plan = solve(read_planning_inputs(folder))
        assert plan.status is PlanStatus.INFEASIBLE
        assert any("more power: 40.0 kW in all" in s for s in plan.diagnosis), plan.diagnosis
