"""Cross-check capforecast's planning MILP against an independent scipy reference (docs/model.md;
the families of docs/model.md §6.9-6.13 too, and the commercial terms of DESIGN.md §4.6:
min lots, supply minimums, budgets by year, capex timing, cloud offers, vendor limits).

Random but valid planning-input directories are solved twice: by ``capforecast.plan.solve``
(HiGHS) and by :mod:`tests.reference_milp` (scipy.optimize.milp, built from the CSV files
without any capforecast code). Optimal objectives must agree. Hand-worked instances check
both against figures computed in their comments; the hand-solved instances of the
commercial terms check the reference alone. An instance the reference finds infeasible
(take-or-pay minimums can make one) must be infeasible for capforecast too.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from random_instances import write_random_instance
from reference_milp import reference_objective, reference_solve

from capforecast.plan.inputs import read_planning_inputs
from capforecast.plan.solve import solve

SEEDS = range(36)
REL_TOL = 1e-6
ABS_TOL = 1e-4

#: Every optional file and option the generator must exercise across ``SEEDS``.
REQUIRED_FEATURES = frozenset(
    {
        "fleet_retirement",
        "fleet_in_flight",
        "fleet_before_horizon",
        "fleet_shared_sku_site",
        "lead_time_0",
        "lead_time_1",
        "lead_time_2",
        "lot_size_1",
        "lot_size_2",
        "lot_size_3",
        "lot_size_4",
        "lifetime_1",
        "budget_carryover_true",
        "budget_carryover_false",
        "budget_zero_period",
        "rent",
        "supply",
        "slots",
        "slots_column_blank",
        "site_power",
        "prices",
        "scenarios_2",
        "scenarios_3",
        "discount_rate",
        "no_discount",
        "shortfall_penalty_number",
        "shortfall_penalty_map",
        "shortfall_penalty_map_partial",
        "shortfall_penalty_absent",
        "unservable_workload",
        "missing_perf_pair",
        "hours_per_period",
        "load_factor",
        "options_absent",
        "purchases",
        "no_purchases",
        "budget_binding",
        "power_binding",
        "slots_binding",
        "supply_binding",
        "terminal_value",
        "terminal_value_none",
        "risk_cvar",
        "risk_cvar_with_scenarios",
        # Second version (docs/model.md §6.9-6.11).
        "legacy_sku",
        "legacy_sku_in_fleet",
        "legacy_sku_in_perf",
        "legacy_only_workload",
        "opex",
        "opex_blank",
        "availability",
        "availability_blank",
        "early_retirement",
        "salvage_value",
        "salvage_negative",
        "salvage_blank",
        "retirements",
        "fleet_over_power_cap",
        # Geography and clusters (docs/model.md §6.12-6.13).
        "regions",
        "region_without_site",
        "eligibility",
        "rent_by_region",
        "clusters",
        "cluster_restricted",
        "cluster_outside_horizon",
        "cluster_placed",
        "cluster_not_placed",
        # Commercial terms (DESIGN.md §4.6).
        "vendor",
        "sku_without_vendor",
        "vendor_limits",
        "vendor_min_share",
        "vendor_limit_binding",
        "min_lots",
        "min_lots_binding",
        "supply_min",
        "supply_min_binding",
        "budget_by_year",
        "budget_partly_outside",
        "budget_row_outside",
        "capex_timing_delivery",
        "capex_timing_order",
        "cloud_offers",
        "cloud_offer_used",
        "offer_with_notice",
        "offer_max_blank",
        "offer_by_region",
        "offer_limit_binding",
        "infeasible",
    }
)


def _features(directory: Path) -> set[str]:
    """The optional files and options a planning directory exercises (read from its files)."""
    found: set[str] = set()
    catalog = pd.read_csv(directory / "catalog.csv")
    perf = pd.read_csv(directory / "perf.csv")
    sites = pd.read_csv(directory / "sites.csv")
    fleet = pd.read_csv(directory / "fleet.csv", dtype=str, keep_default_na=False)
    demand = pd.read_csv(directory / "demand.csv")
    budget = pd.read_csv(directory / "budget.csv")
    horizon = sorted(pd.Period(p, freq="Q") for p in demand["period"].unique())
    first, last = horizon[0], horizon[-1]

    for start in fleet["available_from"]:
        if start and first < pd.Period(start, freq="Q") <= last:
            found.add("fleet_in_flight")
        if start and pd.Period(start, freq="Q") < first:
            found.add("fleet_before_horizon")
    for end in fleet["retire_period"]:
        if end and first < pd.Period(end, freq="Q") <= last:
            found.add("fleet_retirement")
    if fleet.duplicated(["sku", "site"]).any():
        found.add("fleet_shared_sku_site")
    order_columns = ["unit_price", "lot_size", "lead_time", "lifetime"]
    legacy = catalog.loc[catalog[order_columns].isna().all(axis=1), "sku"]
    orderable = catalog.drop(legacy.index)
    found |= {f"lead_time_{int(v)}" for v in orderable["lead_time"]}
    found |= {f"lot_size_{int(v)}" for v in orderable["lot_size"]}
    found |= {f"lifetime_{int(v)}" for v in orderable["lifetime"]}
    if len(legacy):
        found.add("legacy_sku")
        found |= {"legacy_sku_in_fleet"} if fleet["sku"].isin(legacy).any() else set()
        found |= {"legacy_sku_in_perf"} if perf["sku"].isin(legacy).any() else set()
        served = set(perf.loc[~perf["sku"].isin(legacy), "workload"])
        if set(perf.loc[perf["sku"].isin(legacy), "workload"]) - served:
            found.add("legacy_only_workload")
    for column in ("opex", "availability"):
        if column in catalog.columns:
            found.add(column)
            found |= {f"{column}_blank"} if catalog[column].isna().any() else set()
    if "salvage_value" in fleet.columns:
        found.add("salvage_value")
        values = fleet["salvage_value"]
        found |= {"salvage_blank"} if (values == "").any() else set()
        found |= {"salvage_negative"} if values.str.startswith("-").any() else set()
    if "region" in demand.columns:
        found.add("regions")
        if set(demand["region"]) - set(sites["region"]):
            found.add("region_without_site")
        if (directory / "rent.csv").is_file():
            found.add("rent_by_region")
    if (directory / "eligibility.csv").is_file():
        found.add("eligibility")
    if (directory / "clusters.csv").is_file():
        found.add("clusters")
        clusters = pd.read_csv(directory / "clusters.csv", dtype=str, keep_default_na=False)
        if (clusters[["region", "skus", "sites"]] != "").any(axis=None):
            found.add("cluster_restricted")
        if any(pd.Period(p, freq="Q") > last for p in clusters["start"]):
            found.add("cluster_outside_horizon")
    if (budget["capex_budget"] == 0).any():
        found.add("budget_zero_period")
    for label in budget["period"].astype(str):
        span = pd.Period(label)  # at the label's own frequency: a year or a quarter
        inside = [
            first <= q <= last for q in pd.period_range(span.start_time, span.end_time, freq="Q")
        ]
        if span.freqstr.startswith(("Y", "A")):
            found.add("budget_by_year")
        if any(inside) and not all(inside):
            found.add("budget_partly_outside")
        if not any(inside):
            found.add("budget_row_outside")
    if "vendor" in catalog.columns:
        found.add("vendor")
        if catalog.drop(legacy.index)["vendor"].isna().any():
            found.add("sku_without_vendor")
    if (directory / "vendor_limits.csv").is_file():
        found.add("vendor_limits")
        limits = pd.read_csv(directory / "vendor_limits.csv")
        if "min_share" in limits.columns and limits["min_share"].notna().any():
            found.add("vendor_min_share")
    if "min_lots" in catalog.columns and (catalog["min_lots"] > 1).any():
        found.add("min_lots")
    if (directory / "supply.csv").is_file():
        supply = pd.read_csv(directory / "supply.csv")
        if "min_units" in supply.columns and supply["min_units"].notna().any():
            found.add("supply_min")
    if (directory / "cloud_offers.csv").is_file():
        found.add("cloud_offers")
        offers = pd.read_csv(directory / "cloud_offers.csv")
        if "notice" in offers.columns and (offers["notice"].fillna(0) > 0).any():
            found.add("offer_with_notice")
        if offers["max_units"].isna().any():
            found.add("offer_max_blank")
        if "region" in offers.columns:
            found.add("offer_by_region")
    if "slots" in sites.columns:
        found.add("slots" if sites["slots"].notna().any() else "slots_column_blank")
        if sites["slots"].isna().any():
            found.add("slots_column_blank")
    for name in ("rent", "supply", "site_power", "prices"):
        if (directory / f"{name}.csv").is_file():
            found.add(name)
    if "scenario" in demand.columns:
        found.add(f"scenarios_{demand['scenario'].nunique()}")
    workloads = set(demand["workload"])
    if not workloads <= set(perf["workload"]):
        found.add("unservable_workload")
    if len(perf) < len(catalog) * len(workloads):
        found.add("missing_perf_pair")

    options_path = directory / "options.yaml"
    options = yaml.safe_load(options_path.read_text()) if options_path.is_file() else None
    if options is None:
        found.add("options_absent")
        options = {}
    found.add("discount_rate" if options.get("discount_rate", 0) > 0 else "no_discount")
    found.add(f"budget_carryover_{str(bool(options.get('budget_carryover'))).lower()}")
    penalty = options.get("shortfall_penalty")
    if penalty is None:
        found.add("shortfall_penalty_absent")
    elif isinstance(penalty, dict):
        found.add("shortfall_penalty_map")
        if set(penalty) != workloads:
            found.add("shortfall_penalty_map_partial")
    else:
        found.add("shortfall_penalty_number")
    found |= {key for key in ("hours_per_period", "load_factor") if key in options}
    if options.get("early_retirement"):
        found.add("early_retirement")
    found.add(
        "terminal_value_none" if options.get("terminal_value") == "none" else "terminal_value"
    )
    if options.get("capex_timing") == "delivery" and (orderable["lead_time"] > 0).any():
        found.add("capex_timing_delivery")
    if options.get("capex_timing") == "order":
        found.add("capex_timing_order")
    if options.get("risk") == "cvar":
        found.add("risk_cvar")
        if "scenario" in demand.columns:
            found.add("risk_cvar_with_scenarios")
    return found


def _relax_budget(directory: Path) -> None:
    """Make every budget far larger."""
    budget = pd.read_csv(directory / "budget.csv")
    budget["capex_budget"] = budget["capex_budget"] * 100 + 1e6
    budget.to_csv(directory / "budget.csv", index=False)


def _relax_power(directory: Path) -> None:
    """Make every power cap far larger."""
    sites = pd.read_csv(directory / "sites.csv")
    sites["power_cap_kw"] = 1e6
    sites.to_csv(directory / "sites.csv", index=False)
    (directory / "site_power.csv").unlink(missing_ok=True)


def _relax_slots(directory: Path) -> None:
    """Drop every slot limit."""
    sites = pd.read_csv(directory / "sites.csv")
    sites.drop(columns="slots", errors="ignore").to_csv(directory / "sites.csv", index=False)


def _blank_column(directory: Path, name: str, column: str) -> None:
    """Empty every cell of ``column`` in ``name`` (empty = no limit), if both exist."""
    path = directory / name
    if path.is_file():
        table = pd.read_csv(path)
        if column in table.columns:
            table[column] = np.nan
            table.to_csv(path, index=False)


def _relax_supply(directory: Path) -> None:
    """Drop every vendor allocation (supply maximum); the minimums stay."""
    _blank_column(directory, "supply.csv", "max_units")


def _relax_supply_min(directory: Path) -> None:
    """Drop every committed volume (supply minimum)."""
    _blank_column(directory, "supply.csv", "min_units")


def _relax_min_lots(directory: Path) -> None:
    """Drop every minimum order size."""
    _blank_column(directory, "catalog.csv", "min_lots")


def _relax_vendor_limits(directory: Path) -> None:
    """Drop every vendor share limit."""
    (directory / "vendor_limits.csv").unlink(missing_ok=True)


def _relax_offer_limit(directory: Path) -> None:
    """Drop every cloud offer's limit on active units."""
    _blank_column(directory, "cloud_offers.csv", "max_units")


#: Constraint families that must bind (lower the optimum when relaxed) in some instance.
RELAXATIONS = {
    "budget_binding": _relax_budget,
    "power_binding": _relax_power,
    "slots_binding": _relax_slots,
    "supply_binding": _relax_supply,
    "supply_min_binding": _relax_supply_min,
    "min_lots_binding": _relax_min_lots,
    "vendor_limit_binding": _relax_vendor_limits,
    "offer_limit_binding": _relax_offer_limit,
}


def _binds(directory: Path, objective: float, scratch: Path, relax: Callable[[Path], None]) -> bool:
    """True when relaxing a constraint family lowers the reference optimum."""
    shutil.copytree(directory, scratch)
    relax(scratch)
    return reference_objective(scratch) < objective - REL_TOL * abs(objective) - ABS_TOL


@pytest.mark.parametrize("seed", SEEDS)
def test_objective_matches_reference(tmp_path: Path, seed: int) -> None:
    """capforecast's optimal objective equals the independent reference optimum."""
    write_random_instance(tmp_path, seed, commercial=True)
    expected = reference_objective(tmp_path)
    plan = solve(read_planning_inputs(tmp_path).with_options(mip_gap=0.0))
    if expected == np.inf:  # the reference finds no feasible plan
        assert plan.status == "infeasible", plan.message
        return
    assert plan.status == "optimal", plan.message
    assert plan.objective is not None
    assert plan.objective == pytest.approx(expected, rel=REL_TOL, abs=ABS_TOL)


def test_generator_covers_every_option(tmp_path: Path) -> None:
    """Across SEEDS the instances exercise every optional file, option and regime."""
    covered: set[str] = set()
    for seed in SEEDS:
        directory = tmp_path / f"seed{seed}"
        write_random_instance(directory, seed, commercial=True)
        covered |= _features(directory)
        result = reference_solve(directory)
        if result.fleet_over_power:
            covered.add("fleet_over_power_cap")
        if not result.feasible:
            covered.add("infeasible")
            continue  # nothing to relax against
        covered.add("purchases" if result.lots.sum() > 0 else "no_purchases")
        if (result.signed > 1e-9).any():
            covered.add("cloud_offer_used")
        if result.retired.sum() > 0:
            covered.add("retirements")
        placed = set(result.placed.values())
        covered |= {"cluster_placed"} if placed - {None} else set()
        covered |= {"cluster_not_placed"} if None in placed else set()
        for feature, relax in RELAXATIONS.items():
            scratch = tmp_path / f"seed{seed}-{feature}"
            if feature not in covered and _binds(directory, result.objective, scratch, relax):
                covered.add(feature)
    assert sorted(REQUIRED_FEATURES - covered) == []


def test_generator_is_deterministic(tmp_path: Path) -> None:
    """The same seed writes the same files; different seeds differ."""
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        write_random_instance(tmp_path / name, seed, commercial=True)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in files:
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    assert any(
        not (tmp_path / "c" / name).is_file()
        or (tmp_path / "a" / name).read_text() != (tmp_path / "c" / name).read_text()
        for name in files
    )


def test_reference_on_hand_solved_instance(tmp_path: Path) -> None:
    """The reference reproduces a tiny instance solved by hand.

    Two fleet units retire after 2027Q2; demand jumps to 6 in 2027Q3. With a huge penalty
    the cheapest plan buys 3 lots of 2 in 2027Q2 (lead time 1). Energy per unit-period is
    0.1 USD/kWh * 1.5 PUE * 1 kW * 1000 h * 1.0 = 150; δ = 0.8. No terminal value (switched
    off: the figures are the first version's).
    """
    files = {
        "catalog.csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime\ng,1000,2,1.0,1,5\n",
        "perf.csv": "sku,workload,factor\ng,train,1.0\n",
        "sites.csv": "site,pue,energy_price,power_cap_kw\ns,1.5,0.1,100\n",
        "fleet.csv": "sku,site,units,available_from,retire_period\ng,s,2,,2027Q3\n",
        "budget.csv": "period,capex_budget\n2027Q1,1e6\n2027Q2,1e6\n2027Q3,1e6\n",
        "demand.csv": "workload,period,demand\ntrain,2027Q1,2\ntrain,2027Q2,2\ntrain,2027Q3,6\n",
        "options.yaml": "discount_rate: 0.25\nhours_per_period: 1000\nload_factor: 1.0\n"
        "shortfall_penalty: 100000\nterminal_value: none\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = reference_solve(tmp_path)
    fleet_energy = 2 * 150 * (1 + 0.8)
    capex = 0.8 * 3 * 2 * 1000
    new_energy = 0.8**2 * 6 * 150
    assert result.fleet_running == pytest.approx(fleet_energy)
    assert result.objective == pytest.approx(fleet_energy + capex + new_energy)
    assert result.lots[0, 0].tolist() == [0, 3, 0]
    plan = solve(read_planning_inputs(tmp_path).with_options(mip_gap=0.0))
    assert plan.objective == pytest.approx(result.objective, rel=REL_TOL, abs=ABS_TOL)


# Hand-solved instances of the commercial terms (DESIGN.md §4.6): the reference alone.
# One SKU "g" (1 kW, factor 1 for "train") at one site "s" (PUE 1) unless said otherwise;
# the terminal value is off and the penalty explicit, so every figure is a short sum.

HAND_OPTIONS = "hours_per_period: 1000\nload_factor: 1.0\nterminal_value: none\n"


def _write_files(directory: Path, files: dict[str, str]) -> Path:
    """Write a planning directory from file texts; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def _hand_instance(directory: Path, **files: str) -> Path:
    """A one-SKU, one-site, one-workload instance with energy free unless overridden; the
    fleet row retires at 2027Q1, so it is never in service in the horizon."""
    base = {
        "catalog.csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime\ng,1000,1,1.0,0,1\n",
        "perf.csv": "sku,workload,factor\ng,train,1.0\n",
        "sites.csv": "site,pue,energy_price,power_cap_kw\ns,1.0,0.0,100\n",
        "fleet.csv": "sku,site,units,available_from,retire_period\ng,s,1,,2027Q1\n",
        "budget.csv": "period,capex_budget\n2027,1e9\n2028,1e9\n",
        "options.yaml": HAND_OPTIONS + "shortfall_penalty: 1500\n",
    }
    given = {k.replace("_csv", ".csv").replace("_yaml", ".yaml"): v for k, v in files.items()}
    return _write_files(directory, base | given)


def test_reference_min_lots_by_hand(tmp_path: Path) -> None:
    """min_lots 2, lot 1, price 1000, lifetime 1, penalty 1500; demand 1 then 3.

    2027Q1: 2 lots (2000) or 1 unit short (1500): short. 2027Q2: 3 lots = 3000 (2 lots + 1
    short = 3500, none = 4500). Optimum 1500 + 3000 = 4500, lots [0, 3]. Without
    min_lots: 1000 + 3000 = 4000. With a 1.5 kW cap not even 2 lots fit (U = 1 < 2):
    nothing is bought, all 4 units short = 6000.
    """
    catalog = "sku,unit_price,lot_size,power_kw,lead_time,lifetime,min_lots\ng,1000,1,1.0,0,1,2\n"
    demand = "workload,period,demand\ntrain,2027Q1,1\ntrain,2027Q2,3\n"
    result = reference_solve(_hand_instance(tmp_path / "a", catalog_csv=catalog, demand_csv=demand))
    assert result.objective == pytest.approx(4500)
    assert result.lots[0, 0].tolist() == [0, 3]
    free = catalog.replace(",min_lots", ",min_lots_unused")
    assert reference_objective(
        _hand_instance(tmp_path / "b", catalog_csv=free, demand_csv=demand)
    ) == pytest.approx(4000)
    tight = "site,pue,energy_price,power_cap_kw\ns,1.0,0.0,1.5\n"
    folder = _hand_instance(tmp_path / "c", catalog_csv=catalog, demand_csv=demand, sites_csv=tight)
    assert reference_objective(folder) == pytest.approx(6000)


def test_reference_supply_min_and_max_by_hand(tmp_path: Path) -> None:
    """Lot 2, price 1000, lifetime 2, penalty 1500; demand 2 in 2027Q1 and 2027Q2.

    supply.csv: nothing may be ordered in 2027Q1 (max 0), and at least 6 units must be in
    2027Q2 (min 6, max empty); a row for 2028Q1 (outside the horizon: a max there is
    ignored; a min there would be a validation error) changes nothing. 2027Q1:
    2 units short = 3000; 2027Q2: 3 lots = 6000. Optimum 9000, lots [0, 3]. Without the
    minimum: 1 lot in 2027Q2 = 2000, total 5000.
    """
    catalog = "sku,unit_price,lot_size,power_kw,lead_time,lifetime\ng,1000,2,1.0,0,2\n"
    demand = "workload,period,demand\ntrain,2027Q1,2\ntrain,2027Q2,2\n"
    supply = "sku,period,max_units,min_units\ng,2027Q1,0,\ng,2027Q2,,6\ng,2028Q1,0,\n"
    files = {"catalog_csv": catalog, "demand_csv": demand, "supply_csv": supply}
    result = reference_solve(_hand_instance(tmp_path / "a", **files))
    assert result.objective == pytest.approx(9000)
    assert result.lots[0, 0].tolist() == [0, 3]
    files["supply_csv"] = "sku,period,max_units\ng,2027Q1,0\n"  # min_units column absent
    assert reference_objective(_hand_instance(tmp_path / "b", **files)) == pytest.approx(5000)


def test_reference_budget_by_year_and_capex_timing_by_hand(tmp_path: Path) -> None:
    """Horizon 2027Q3-2028Q2; budget by year: 2027 = 3000 (its Q1 and Q2 are outside the
    horizon: the whole 3000 covers Q3 and Q4), 2028 = 1000, 2026 = 99999 (no horizon
    period: ignored). Price 1000, lot 1, lead 1, lifetime 4, energy 100 per unit-period
    (0.1 USD/kWh · 1 kW · 1000 h), penalty 10000; demand 0, 0, 4, 4.

    delivery: an order placed in 2027Q3 arrives (and is paid) in 2027Q4, against 2027; one
    placed in 2027Q4 is paid in 2028Q1, against 2028. So 3 units ordered in 2027Q3 (energy
    Q4..2028Q2 = 300 each) and 1 in 2027Q4 (200): 4000 + 900 + 200 = 5100.
    order: orders of 2027Q3 and 2027Q4 are paid against 2027 (at most 3 units by 2028Q1),
    so 1 unit is short in 2028Q1 (10000); 3 ordered in 2027Q4 (200 each) and 1 in 2028Q1
    (paid against 2028, energy 100): 4000 + 600 + 100 + 10000 = 14700.
    delivery with carryover: spend through 2028 <= 4000, so all 4 are ordered in 2027Q4 and
    paid in 2028Q1: 4000 + 800 = 4800.
    Discounted (δ = 0.8), 2 periods, lead 1, demand 0 then 1, no energy: the capex 1000 of
    the 2027Q3 order is discounted by δ^1 with delivery (800), δ^0 with order (1000).
    """
    files = {
        "catalog.csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime\ng,1000,1,1.0,1,4\n",
        "perf.csv": "sku,workload,factor\ng,train,1.0\n",
        "sites.csv": "site,pue,energy_price,power_cap_kw\ns,1.0,0.1,100\n",
        "fleet.csv": "sku,site,units,available_from,retire_period\ng,s,1,,2027Q1\n",
        "budget.csv": "period,capex_budget\n2026,99999\n2027,3000\n2028,1000\n",
        "demand.csv": "workload,period,demand\n"
        + "".join(
            f"train,{p},{d}\n"
            for p, d in zip(("2027Q3", "2027Q4", "2028Q1", "2028Q2"), (0, 0, 4, 4), strict=True)
        ),
    }
    penalty = HAND_OPTIONS + "shortfall_penalty: 10000\n"
    delivery = reference_solve(
        _write_files(
            tmp_path / "delivery", files | {"options.yaml": penalty + "capex_timing: delivery\n"}
        )
    )
    assert delivery.objective == pytest.approx(5100)
    assert delivery.lots[0, 0].tolist() == [3, 1, 0, 0]
    assert delivery.budget.tolist() == [3000, 1000]
    assert delivery.budget_spend.tolist() == [3000, 1000]
    assert delivery.capex.tolist() == [0, 3000, 1000, 0]
    order = reference_solve(
        _write_files(
            tmp_path / "order", files | {"options.yaml": penalty + "capex_timing: order\n"}
        )
    )
    assert order.objective == pytest.approx(14700)
    assert order.lots[0, 0].tolist() == [0, 3, 1, 0]
    carry = penalty + "capex_timing: delivery\nbudget_carryover: true\n"
    carried = reference_solve(_write_files(tmp_path / "carry", files | {"options.yaml": carry}))
    assert carried.objective == pytest.approx(4800)
    assert carried.lots[0, 0].tolist() == [0, 4, 0, 0]

    small = files | {
        "catalog.csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime\ng,1000,1,1.0,1,1\n",
        "sites.csv": "site,pue,energy_price,power_cap_kw\ns,1.0,0.0,100\n",
        "budget.csv": "period,capex_budget\n2027Q1,1e6\n2027Q2,1e6\n",
        "demand.csv": "workload,period,demand\ntrain,2027Q1,0\ntrain,2027Q2,1\n",
    }
    for timing, expected in (("delivery", 800.0), ("order", 1000.0)):
        text = penalty + f"discount_rate: 0.25\ncapex_timing: {timing}\n"
        folder = _write_files(tmp_path / f"small-{timing}", small | {"options.yaml": text})
        assert reference_objective(folder) == pytest.approx(expected)


def test_reference_cloud_offers_by_hand(tmp_path: Path) -> None:
    """No purchase pays (price 100000); penalty 5000; demand 2, 5, 5 in 2027Q1-Q3.

    Offer a: 1000 per unit-period, term 2, notice 1, at most 3 active. Signed in Q1: active
    Q2-Q3, 2000 per unit; signed in Q2: active Q3 only (nothing is paid after the
    horizon), 1000; it cannot be signed in Q3 (notice past the horizon). Offer b: 3000, term
    1, notice empty (0), max empty (no limit). Q1: 2 of b = 6000. Q2 and Q3: 3 of a signed
    in Q1 (the limit; covering Q2 needs them signed in Q1) = 6000, and 2 of b in each =
    12000. Optimum 24000. Without a's limit: 5 of a in Q1 = 10000, total 16000.
    """
    offers = "offer,workload,price,term,max_units,notice\na,train,1000,2,3,1\nb,train,3000,1,,\n"
    files = {
        "catalog_csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime\ng,100000,1,1.0,0,1\n",
        "demand_csv": "workload,period,demand\ntrain,2027Q1,2\ntrain,2027Q2,5\ntrain,2027Q3,5\n",
        "cloud_offers_csv": offers,
        "options_yaml": HAND_OPTIONS + "shortfall_penalty: 5000\n",
    }
    folder = _hand_instance(tmp_path / "a", **files)
    result = reference_solve(folder)
    assert result.objective == pytest.approx(24000)
    assert result.signed.round(9).tolist() == [[3, 0, 0], [2, 2, 2]]
    assert result.lots.sum() == 0
    (folder / "cloud_offers.csv").write_text(
        offers.replace("a,train,1000,2,3,1", "a,train,1000,2,,1")
    )
    assert reference_objective(folder) == pytest.approx(16000)


def test_reference_vendor_limits_by_hand(tmp_path: Path) -> None:
    """Lot 1, lead 0, lifetime 1, no energy, penalty 10000, one period of demand 4.

    g1 (nvidia) 1000, g2 (amd) 1500. No limits: 4 × g1 = 4000. nvidia max_share 0.5:
    1000 n1 <= 0.5 (1000 n1 + 1500 n2), i.e. 1000 n1 <= 1500 n2, with n1 + n2 >= 4:
    (3, 1) fails (3000 > 1500), (2, 2) holds: 5000.
    Add g3 (no vendor) at 800 and amd min_share 0.25 (nvidia max 0.5 kept): 4 × g3 = 3200
    has no amd capex; 1 × g2 + 3 × g3 = 3900 has amd share 1500 / 3900 >= 0.25 (g3 counts in
    the total only): 3900.
    """
    catalog = (
        "sku,unit_price,lot_size,power_kw,lead_time,lifetime,vendor\n"
        "g1,1000,1,1.0,0,1,nvidia\n"
        "g2,1500,1,1.0,0,1,amd\n"
    )
    folder = _hand_instance(
        tmp_path,
        catalog_csv=catalog,
        perf_csv="sku,workload,factor\ng1,train,1\ng2,train,1\n",
        fleet_csv="sku,site,units,available_from,retire_period\ng1,s,1,,2027Q1\n",
        demand_csv="workload,period,demand\ntrain,2027Q1,4\n",
        options_yaml=HAND_OPTIONS + "shortfall_penalty: 10000\n",
    )
    assert reference_objective(folder) == pytest.approx(4000)
    (folder / "vendor_limits.csv").write_text("vendor,max_share\nnvidia,0.5\n")
    result = reference_solve(folder)
    assert result.objective == pytest.approx(5000)
    assert result.lots[:, 0, 0].tolist() == [2, 2]

    (folder / "catalog.csv").write_text(catalog + "g3,800,1,1.0,0,1,\n")
    (folder / "perf.csv").write_text("sku,workload,factor\ng1,train,1\ng2,train,1\ng3,train,1\n")
    (folder / "vendor_limits.csv").write_text(
        "vendor,max_share,min_share\nnvidia,0.5,\namd,1.0,0.25\n"
    )
    result = reference_solve(folder)
    assert result.objective == pytest.approx(3900)
    assert result.lots[:, 0, 0].tolist() == [0, 1, 3]


def test_reference_reports_infeasible(tmp_path: Path) -> None:
    """A take-or-pay minimum of 5 units that the 2 kW cap cannot hold has no feasible
    plan: the reference says so (feasible False, objective inf) instead of raising."""
    folder = _hand_instance(
        tmp_path,
        supply_csv="sku,period,min_units\ng,2027Q1,5\n",
        sites_csv="site,pue,energy_price,power_cap_kw\ns,1.0,0.0,2\n",
        demand_csv="workload,period,demand\ntrain,2027Q1,1\n",
    )
    result = reference_solve(folder)
    assert not result.feasible
    assert result.objective == np.inf
    assert reference_objective(folder) == np.inf


def test_commercial_terms_leave_the_other_draws_alone(tmp_path: Path) -> None:
    """The commercial terms come from their own stream: the files they never touch are the
    same with and without them."""
    untouched = ("demand.csv", "fleet.csv", "perf.csv", "prices.csv", "rent.csv", "clusters.csv")
    for seed in range(8):
        write_random_instance(tmp_path / f"plain{seed}", seed)
        write_random_instance(tmp_path / f"commercial{seed}", seed, commercial=True)
        for name in untouched:
            plain, commercial = (
                tmp_path / f"plain{seed}" / name,
                tmp_path / f"commercial{seed}" / name,
            )
            assert plain.is_file() == commercial.is_file(), name
            if plain.is_file():
                assert plain.read_text() == commercial.read_text(), name
