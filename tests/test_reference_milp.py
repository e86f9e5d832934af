"""Cross-check capforecast's planning MILP against an independent scipy reference (docs/model.md;
the families of docs/model.md §6.9-6.13 too).

Random but valid planning-input directories are solved twice: by ``capforecast.plan.solve``
(HiGHS) and by :mod:`tests.reference_milp` (scipy.optimize.milp, built from the CSV files
without any capforecast code). Optimal objectives must agree. Hand-worked instances check
both against figures computed in their comments.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

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


def _relax_supply(directory: Path) -> None:
    """Drop every vendor allocation."""
    (directory / "supply.csv").unlink(missing_ok=True)


#: Constraint families that must bind (lower the optimum when relaxed) in some instance.
RELAXATIONS = {
    "budget_binding": _relax_budget,
    "power_binding": _relax_power,
    "slots_binding": _relax_slots,
    "supply_binding": _relax_supply,
}


def _binds(directory: Path, objective: float, scratch: Path, relax: Callable[[Path], None]) -> bool:
    """True when relaxing a constraint family lowers the reference optimum."""
    shutil.copytree(directory, scratch)
    relax(scratch)
    return reference_objective(scratch) < objective - REL_TOL * abs(objective) - ABS_TOL


@pytest.mark.parametrize("seed", SEEDS)
def test_objective_matches_reference(tmp_path: Path, seed: int) -> None:
    """capforecast's optimal objective equals the independent reference optimum."""
    write_random_instance(tmp_path, seed)
    expected = reference_objective(tmp_path)
    plan = solve(read_planning_inputs(tmp_path).with_options(mip_gap=0.0))
    assert plan.status == "optimal", plan.message
    assert plan.objective is not None
    assert plan.objective == pytest.approx(expected, rel=REL_TOL, abs=ABS_TOL)


def test_generator_covers_every_option(tmp_path: Path) -> None:
    """Across SEEDS the instances exercise every optional file, option and regime."""
    covered: set[str] = set()
    for seed in SEEDS:
        directory = tmp_path / f"seed{seed}"
        write_random_instance(directory, seed)
        covered |= _features(directory)
        result = reference_solve(directory)
        covered.add("purchases" if result.lots.sum() > 0 else "no_purchases")
        if result.retired.sum() > 0:
            covered.add("retirements")
        placed = set(result.placed.values())
        covered |= {"cluster_placed"} if placed - {None} else set()
        covered |= {"cluster_not_placed"} if None in placed else set()
        findings = read_planning_inputs(directory).findings
        if any(f.check == "fleet_power" for f in findings):
            covered.add("fleet_over_power_cap")
        for feature, relax in RELAXATIONS.items():
            scratch = tmp_path / f"seed{seed}-{feature}"
            if feature not in covered and _binds(directory, result.objective, scratch, relax):
                covered.add(feature)
    assert sorted(REQUIRED_FEATURES - covered) == []


def test_generator_is_deterministic(tmp_path: Path) -> None:
    """The same seed writes the same files; different seeds differ."""
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        write_random_instance(tmp_path / name, seed)
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
