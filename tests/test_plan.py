"""The plan: CLI outputs, invariants on random instances, determinism, status handling."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capforecast import PlanStatus, SolverError, read_planning_inputs, solve
from capforecast.plan.data import ModelData
from capforecast.plan.model import PlanModel
from tests.random_instances import write_random_instance

TCO_COSTS = ("capex", "energy", "opex", "total", "rent", "contract")
OUTPUTS = {
    "purchases.csv": ["sku", "site", "order_period", "arrival_period", "lots", "units", "capex"],
    "capacity.csv": ["sku", "site", "period", "existing_units", "new_units", "units"],
    "shortfall.csv": [
        "workload",
        "region",
        "period",
        "scenario",
        "probability",
        "demand",
        "served",
        "reserved",
        "rented",
        "unmet",
    ],
    "spend.csv": ["period", "capex", "budget", "cumulative_capex", "cumulative_budget"],
    "power.csv": ["site", "period", "draw_kw", "cap_kw", "units", "slots", "energy_cost"],
    "cash.csv": ["period", "capex", "energy", "opex", "cloud_offers", "rent", "salvage", "total"],
    "penalties.csv": ["workload", "penalty_per_period", "penalty_per_hour", "source"],
    "depreciation.csv": [
        "sku",
        "period",
        "fiscal_year",
        "in_service_capex",
        "depreciation",
        "book_value",
    ],
    "fiscal_years.csv": [
        "fiscal_year",
        "capex",
        "energy",
        "opex",
        "cloud_offers",
        "rent",
        "salvage",
        "cash",
        "depreciation",
        "pnl",
    ],
    "capex_by_vendor.csv": ["fiscal_year", "vendor", "capex"],
    "tco.csv": ["sku", "site", "workload", *(f"{c}_per_hour" for c in TCO_COSTS)],
    "clusters.csv": [
        "cluster",
        "workload",
        "size",
        "start",
        "end",
        "placed",
        "sku",
        "site",
        "units",
        "penalty",
    ],
    "retirements.csv": ["sku", "site", "fleet_row", "period", "units", "salvage"],
    "offers.csv": [
        "offer",
        "workload",
        "region",
        "signed",
        "units",
        "first_period",
        "last_period",
        "cost",
    ],
    "vendors.csv": ["vendor", "capex", "share", "min_share", "max_share"],
    "rules.csv": ["rule", "period", "left", "sense", "right", "slack", "unit"],
}
TIMINGS = ("build_seconds", "solve_seconds")


def test_cli_plan_writes_every_output(
    planning_dir: Path, tmp_path: Path, cli: Callable[..., object]
) -> None:
    out = tmp_path / "out"
    result = cli("plan", planning_dir, "--out", out)
    assert result.code == 0, result.stderr  # type: ignore[attr-defined]
    assert "Orders by SKU, site and period" in result.stdout  # type: ignore[attr-defined]
    document = json.loads((out / "plan.json").read_text())
    assert document["status"] == "optimal"
    for key in ("objective", "bound", "gap", *TIMINGS, "costs"):
        assert key in document
    assert document["gap"] <= 0.001
    assert document["objective"] == pytest.approx(sum(document["costs"].values()))
    assert document["bound"] <= document["objective"] + 1e-6
    for name, columns in OUTPUTS.items():
        assert list(pd.read_csv(out / name).columns) == columns, name
    assert not list(out.glob(".*.tmp")), "temporary files must not be left behind"


def test_same_inputs_same_outputs_byte_for_byte(planning_dir: Path, tmp_path: Path) -> None:
    runs = []
    for number in range(2):
        out = tmp_path / f"run{number}"
        code = subprocess.run(
            [sys.executable, "-m", "capforecast", "plan", str(planning_dir), "--out", str(out)],
            capture_output=True,
            check=False,
        ).returncode
        assert code == 0
        runs.append(out)
    for path in sorted(runs[0].iterdir()):
        other = runs[1] / path.name
        if path.name == "plan.json":
            first, second = (json.loads(p.read_text()) for p in (path, other))
            for key in TIMINGS:
                first.pop(key), second.pop(key)
            assert first == second
        else:
            assert path.read_bytes() == other.read_bytes(), path.name


def test_solve_does_not_mutate_inputs(planning_dir: Path) -> None:
    inputs = read_planning_inputs(planning_dir)
    before = {name: getattr(inputs, name).copy() for name in ("catalog", "fleet", "demand")}
    solve(inputs)
    for name, table in before.items():
        pd.testing.assert_frame_equal(getattr(inputs, name), table)


def test_hook_adds_user_constraints_and_failed_solves_report_status(planning_dir: Path) -> None:
    inputs = read_planning_inputs(planning_dir)

    def impossible(model: PlanModel) -> None:
        # Ten million lots in all: far over every budget, so no plan can satisfy it.
        buy = model.buy.columns
        model.program.add_row("user_impossible", buy, np.ones(len(buy)), lower=10**7)

    plan = solve(inputs, extra_constraints=impossible)
    assert plan.status is PlanStatus.INFEASIBLE
    assert plan.purchases.empty and plan.objective is None
    with pytest.raises(SolverError, match="infeasible"):
        plan.raise_for_status()


def test_cli_exits_3_when_the_solve_ends_without_a_plan(
    planning_dir: Path, tmp_path: Path, cli: Callable[..., object]
) -> None:
    (planning_dir / "options.yaml").write_text("time_limit_s: 1.0e-9\n")
    result = cli("plan", planning_dir, "--out", tmp_path / "out")
    assert result.code == 3  # type: ignore[attr-defined]
    document = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert document["status"] == "no_solution" and document["objective"] is None
    assert "No plan" in result.stdout  # type: ignore[attr-defined]


def test_cbc_agrees_with_highs_within_the_gap(planning_dir: Path) -> None:
    inputs = read_planning_inputs(planning_dir)
    highs = solve(inputs)
    cbc = solve(inputs.with_options(solver="cbc"))
    assert highs.status is PlanStatus.OPTIMAL and cbc.status is PlanStatus.OPTIMAL
    assert cbc.bound is None and cbc.gap is None
    assert highs.bound is not None and highs.objective is not None and cbc.objective is not None
    assert highs.bound <= cbc.objective * (1 + 1e-9)
    assert cbc.objective == pytest.approx(highs.objective, rel=2 * inputs.options.mip_gap)


def test_header_only_optional_files_and_an_empty_fleet_are_valid(planning_dir: Path) -> None:
    (planning_dir / "rent.csv").write_text("workload,period,price,max_units\n")
    (planning_dir / "prices.csv").write_text("sku,period,unit_price\n")
    (planning_dir / "fleet.csv").write_text("sku,site,units,available_from,retire_period\n")
    plan = solve(read_planning_inputs(planning_dir))
    assert plan.status is PlanStatus.OPTIMAL
    assert plan.rent.empty
    assert (plan.capacity["existing_units"] == 0).all()
    assert plan.costs["energy_existing"] == 0


def test_labels_that_clash_once_made_safe_still_solve(planning_dir: Path) -> None:
    reference = solve(read_planning_inputs(planning_dir))
    for name in ("sites.csv", "fleet.csv", "site_power.csv", "eligibility.csv"):
        path = planning_dir / name
        text = path.read_text().replace("texas", "tx-1").replace("amsterdam", "tx_1")
        path.write_text(text.replace("virginia", "va 1"))
    plan = solve(read_planning_inputs(planning_dir))
    assert plan.status is PlanStatus.OPTIMAL
    assert plan.objective == pytest.approx(reference.objective, rel=1e-9)
    assert set(plan.power["site"]) == {"tx-1", "tx_1", "va 1", "finland"}


def test_monthly_periods_and_fleet_outside_the_horizon(planning_dir: Path) -> None:
    months = pd.period_range("2027-01", periods=6, freq="M").astype(str)
    demand = pd.DataFrame(
        [(w, m, 9000.0) for w in ("training", "inference") for m in months],
        columns=["workload", "period", "demand"],
    )
    demand.to_csv(planning_dir / "demand.csv", index=False)
    pd.DataFrame({"period": months, "capex_budget": 2e7}).to_csv(
        planning_dir / "budget.csv", index=False
    )
    for name in (
        "site_power.csv",
        "prices.csv",
        "supply.csv",
        "rent.csv",
        "clusters.csv",
        "cloud_offers.csv",
    ):
        (planning_dir / name).unlink()
    fleet = pd.DataFrame(
        {
            "sku": ["H100", "H100", "H200"],
            "site": ["virginia", "virginia", "texas"],
            "units": [4000, 500, 300],
            "available_from": ["", "2026-01", "2027-09"],  # the last one arrives too late
            "retire_period": ["2027-04", "2026-06", ""],  # the second retired already
        }
    )
    fleet.to_csv(planning_dir / "fleet.csv", index=False)
    (planning_dir / "options.yaml").write_text("period_freq: M\nhours_per_period: 730\n")
    inputs = read_planning_inputs(planning_dir)
    data = ModelData.from_inputs(inputs)
    h100 = data.skus.index("H100")
    assert data.fleet[h100, data.sites.index("virginia")].tolist() == [4000] * 3 + [0] * 3
    assert data.fleet[data.skus.index("H200")].sum() == 0
    plan = solve(inputs)
    assert plan.status is PlanStatus.OPTIMAL
    assert str(plan.spend["period"].iloc[0]) == "2027-01"


def test_rows_outside_the_horizon_are_ignored_with_a_warning(planning_dir: Path) -> None:
    with (planning_dir / "supply.csv").open("a") as supply:
        supply.write("B200,2031Q1,5,\n")
    inputs = read_planning_inputs(planning_dir)
    assert any(
        f.check == "rows_outside_horizon" and f.problem.file == "supply.csv"
        for f in inputs.findings
    )
    assert any("2031Q1 is outside the horizon" in w for w in solve(inputs).warnings)


def test_python_dash_m_and_help_on_every_command() -> None:
    for command in ([], ["forecast"], ["plan"], ["demo"]):
        done = subprocess.run(
            [sys.executable, "-m", "capforecast", *command, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0 and "Usage" in done.stdout, done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "capforecast", "plan", "no-such-folder", "--out", "x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def _check_invariants(directory: Path) -> None:
    inputs = read_planning_inputs(directory).with_options(mip_gap=0.0)
    data = ModelData.from_inputs(inputs)
    plan = solve(inputs)
    assert plan.status is PlanStatus.OPTIMAL
    tol = 1e-6
    # Budget, per period or cumulative with carryover.
    spend = plan.spend
    if data.carryover:
        assert (spend["cumulative_capex"] <= spend["cumulative_budget"] * (1 + tol) + tol).all()
    else:
        assert (spend["capex"] <= spend["budget"] * (1 + tol) + tol).all()
    # Power and slots per site and period.
    assert (plan.power["draw_kw"] <= plan.power["cap_kw"] * (1 + tol) + tol).all()
    with_slots = plan.power.dropna(subset=["slots"])
    assert (with_slots["units"] <= with_slots["slots"] + tol).all()
    # Vendor supply per SKU and order period.
    if not plan.purchases.empty:
        ordered = plan.purchases.groupby(["sku", "order_period"])["units"].sum()
        for (sku, period), units in ordered.items():
            limit = data.supply[data.skus.index(sku), data.periods.get_loc(period)]
            assert units <= limit + tol
        # Every order arrives inside the horizon, after its lead time.
        assert (plan.purchases["arrival_period"] <= data.periods[-1]).all()
        lead = plan.purchases["sku"].map(dict(zip(data.skus, data.lead_time, strict=True)))
        gaps = [
            (a - o).n
            for a, o in zip(
                plan.purchases["arrival_period"], plan.purchases["order_period"], strict=True
            )
        ]
        assert np.array_equal(np.asarray(gaps), lead.to_numpy())
        assert (plan.purchases["lots"] >= 1).all()
    # Demand is met, or the shortfall is reported.
    short = plan.shortfall
    assert (short["served"] + short["rented"] + short["unmet"] >= short["demand"] - 1e-5).all()
    expected_unmet = (short["unmet"] * short["probability"]).sum()
    reported = plan.summary()["totals"]["expected_unmet_unit_periods"]
    assert reported == pytest.approx(expected_unmet, abs=1e-5)
    # Allocation never exceeds the available share of installed capacity.
    if not plan.allocation.empty:
        used = plan.allocation.groupby(["sku", "site", "period", "scenario"])["units"].sum()
        installed = plan.capacity.set_index(["sku", "site", "period"])["units"]
        for (sku, site, period, _), units in used.items():
            share = data.availability[data.skus.index(sku)]
            assert units <= share * installed.loc[(sku, site, period)] + 1e-6
    # A legacy SKU is never ordered; a fleet row never retires more than it has.
    legacy = [
        sku for sku, orderable in zip(data.skus, data.orderable, strict=True) if not orderable
    ]
    assert not plan.purchases["sku"].isin(legacy).any()
    if not plan.retirements.empty:
        assert data.early_retirement
        retired = plan.retirements.groupby("fleet_row")["units"].sum()
        units = pd.Series(data.fleet_rows.units, index=data.fleet_rows.row)
        assert (retired <= units.reindex(retired.index)).all()

    # Doubling the budget never raises the objective.
    richer = directory / "richer"
    richer.mkdir()
    for path in directory.iterdir():
        if path.is_file():
            (richer / path.name).write_bytes(path.read_bytes())
    budget = pd.read_csv(richer / "budget.csv")
    budget.assign(capex_budget=budget["capex_budget"] * 2).to_csv(
        richer / "budget.csv", index=False
    )
    doubled = solve(read_planning_inputs(richer).with_options(mip_gap=0.0))
    assert doubled.objective is not None and plan.objective is not None
    # (The objective may be negative: salvage of fleet retired early can exceed every cost.)
    assert doubled.objective <= plan.objective + 1e-7 * abs(plan.objective) + 1e-6


@given(seed=st.integers(0, 2**31 - 1))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_plan_invariants_on_random_instances(seed: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        write_random_instance(directory, seed)
        _check_invariants(directory)


def test_demo_end_to_end_and_reproducible_from_its_inputs(
    tmp_path: Path, cli: Callable[..., object]
) -> None:
    out = tmp_path / "demo"
    result = cli("demo", "--out", out, "--paths", 60)
    assert result.code == 0, result.stderr  # type: ignore[attr-defined]
    phrases = ("Orders by SKU, site and period", "Spend vs budget", "Power vs cap")
    phrases += ("Cash over the horizon", "Valuations in the objective, not cash", "objective")
    for phrase in phrases:
        assert phrase in result.stdout, phrase  # type: ignore[attr-defined]
    document = json.loads((out / "plan.json").read_text())
    assert document["status"] in ("optimal", "feasible")
    demand = pd.read_csv(out / "inputs" / "demand.csv")
    # Per workload and region (the sample's history and sites have regions), 12 quarters.
    assert set(demand["workload"]) == {"training", "inference"} and len(demand) == 48
    assert set(demand["region"]) == {"us", "eu"}
    again = tmp_path / "again"
    assert cli("plan", out / "inputs", "--out", again).code == 0  # type: ignore[attr-defined]
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_a_solve_shows_the_search_as_it_goes_only_when_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from capforecast.examples import sample_planning_inputs
    from capforecast.plan.result import usd

    inputs = sample_planning_inputs()
    quiet = solve(inputs)  # standard error is not a terminal here
    assert capsys.readouterr().err == ""
    shown = solve(inputs, progress=True)
    lines = capsys.readouterr().err.replace("\r", "\n").split("\n")
    updates = [line.strip() for line in lines if line.startswith("HiGHS: best plan")]
    assert updates, lines
    # The last update is the plan and the bound the solve returned (the LP relaxation's:
    # the neighbourhood search's own bound is never shown), within the MIP gap.
    assert shown.objective is not None and shown.bound is not None
    last = f"HiGHS: best plan {usd(shown.objective)}, bound {usd(shown.bound)}, gap "
    assert updates[-1].startswith(last), updates
    gap = float(updates[-1].split("gap ")[1].split("%")[0]) / 100
    assert gap <= inputs.options.mip_gap + 5e-5
    assert shown.objective == quiet.objective
