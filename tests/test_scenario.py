"""Scenarios as data: files with errors by line and key, every change as a table edit,
runs in parallel and on Dask, comparisons whose effects go the right way, and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from dask.distributed import Client

from capforecast.core.errors import InputError
from capforecast.examples import sample_planning_dir, sample_planning_inputs
from capforecast.scenario.apply import apply
from capforecast.scenario.compare import compare
from capforecast.scenario.run import budget_sweep, run_scenario, run_scenarios
from capforecast.scenario.spec import Scenario, read_scenario
from tests.conftest import CliResult

FAST = {"explain": False, "mip_gap": 0.01, "time_limit_s": 30}


def _write(folder: Path, name: str, document: dict) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _scenario(**changes: object) -> Scenario:
    return Scenario.model_validate(
        {"name": "s", "inputs": {"planning": str(sample_planning_dir())}, **changes}
    )


def test_extends_merges_inputs_options_and_adds_changes(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "base",
        {
            "inputs": {"planning": "plans"},
            "options": {"mip_gap": 0.01},
            "budget": [{"periods": "2027", "factor": 0.9}],
        },
    )
    (tmp_path / "sub").mkdir()
    _write(
        tmp_path / "sub",
        "cut",
        {
            "extends": "../base.yaml",
            "options": {"time_limit_s": 5},
            "budget": [{"periods": "2028Q1", "set": 1e6}],
        },
    )
    scenario = read_scenario(tmp_path / "sub" / "cut.yaml")
    assert scenario.name == "cut"
    assert scenario.inputs.planning == (tmp_path / "plans").resolve()  # relative to base.yaml
    assert scenario.options == {"mip_gap": 0.01, "time_limit_s": 5}
    assert [(b.periods, b.factor, b.set) for b in scenario.budget] == [
        ("2027", 0.9, None),
        ("2028Q1", None, 1e6),
    ]


def test_every_problem_names_file_line_and_key(tmp_path: Path) -> None:
    _write(tmp_path, "base", {"inputs": {"planning": "plans"}})
    path = tmp_path / "bad.yaml"
    path.write_text(
        "extends: base.yaml\n"
        "budget:\n"
        "  - {periods: '2027', change: -20 percent}\n"
        "  - {factor: 0.5, set: 3}\n"
        "lead_time: [{sku: B200}]\n"
        "rent_price: 3\n"
        "options: {mip_gap: 2}\n"
    )
    with pytest.raises(InputError) as error:
        read_scenario(path)
    found = {(p.row, p.column) for p in error.value.problems}
    assert found == {
        (3, "budget.0.change"),
        (4, "budget.1"),
        (5, "lead_time.0"),
        (6, "rent_price"),
        (7, "options.mip_gap"),
    }
    text = str(error.value)
    assert "bad.yaml, line 6, key 'rent_price': unknown key" in text
    assert "give exactly one of set, factor or change" in text
    _write(tmp_path, "nohistory", {"extends": "base.yaml", "forecast": {"paths": 20}})
    with pytest.raises(InputError, match=r"line 2, key 'forecast': applies only with inputs"):
        read_scenario(tmp_path / "nohistory.yaml")
    _write(tmp_path, "loop", {"extends": "loop.yaml"})
    with pytest.raises(InputError, match="extends itself"):
        read_scenario(tmp_path / "loop.yaml")
    _write(tmp_path, "orphan", {"extends": "nowhere.yaml"})
    with pytest.raises(InputError, match=r"orphan.yaml, line 1, key 'extends': no such"):
        read_scenario(tmp_path / "orphan.yaml")


def test_each_change_is_the_table_edit_it_says() -> None:
    inputs = sample_planning_inputs()
    changed = apply(
        _scenario(
            demand=[{"workload": "inference", "periods": "2028Q1..2029Q4", "factor": 2}],
            budget=[{"periods": "2027", "change": "-20%"}],
            prices=[{"sku": "B200", "change": "+10%"}],
            lead_time=[{"sku": "B200", "add": 2}],
            availability=[{"sku": "GB200", "available": False}, {"sku": "B200", "from": "2027Q3"}],
            power=[{"site": "texas", "set": 12000, "periods": "2027Q3..2027Q4"}],
            rent=[{"workload": "training", "factor": 1.5}],
            options={"time_limit_s": 30},
        ),
        inputs,
    )
    before, after = inputs.demand, changed.demand
    doubled = (after["workload"] == "inference") & (after["period"] >= pd.Period("2028Q1", "Q"))
    np.testing.assert_allclose(after["demand"][doubled], 2 * before["demand"][doubled])
    np.testing.assert_allclose(after["demand"][~doubled], before["demand"][~doubled])
    ratio = changed.budget["capex_budget"].to_numpy() / inputs.budget["capex_budget"].to_numpy()
    np.testing.assert_allclose(ratio, [0.8] * 4 + [1.0] * 8)
    b200 = changed.prices[changed.prices["sku"] == "B200"]["unit_price"].to_numpy()
    old = inputs.prices[inputs.prices["sku"] == "B200"]["unit_price"].to_numpy()
    np.testing.assert_allclose(b200, 1.1 * old)
    h100 = changed.prices[changed.prices["sku"] == "H100"]["unit_price"].to_numpy()
    np.testing.assert_allclose(h100, inputs.prices[inputs.prices["sku"] == "H100"]["unit_price"])
    lead = changed.catalog.set_index("sku")["lead_time"]
    before_lead = inputs.catalog.set_index("sku")["lead_time"]
    assert lead["B200"] == before_lead["B200"] + 2
    assert lead.drop("B200").equals(before_lead.drop("B200"))
    closed = changed.supply[changed.supply["max_units"] == 0]
    assert set(closed[closed["sku"] == "GB200"]["period"].astype(str)) == set(
        inputs.periods.astype(str)
    )
    assert set(closed[closed["sku"] == "B200"]["period"].astype(str)) == {"2027Q1", "2027Q2"}
    texas = changed.site_power[changed.site_power["site"] == "texas"].set_index("period")
    assert texas.loc[pd.Period("2027Q3", "Q"), "power_cap_kw"] == 12000
    assert texas.loc[pd.Period("2027Q2", "Q"), "power_cap_kw"] == 8000  # sites.csv
    assert texas.loc[pd.Period("2028Q1", "Q"), "power_cap_kw"] == 24000  # site_power.csv
    rent = changed.rent.groupby("workload")["price"].first()
    assert (rent["training"], rent["inference"]) == (8760 * 1.5, 7665)
    assert changed.options.time_limit_s == 30 and inputs.options.time_limit_s == 60
    with pytest.raises(InputError) as error:
        apply(
            _scenario(
                budget=[{"periods": "2031", "factor": 0.5}], prices=[{"sku": "XYZ", "factor": 2}]
            ),
            inputs,
        )
    assert "key 'budget.0': selects no row in the horizon 2027Q1..2029Q4" in str(error.value)
    assert "key 'prices.0': selects no row (sku 'XYZ')" in str(error.value)


def test_fleet_refresh_knobs_edit_catalog_and_fleet() -> None:
    """opex, availability_share and salvage_value edit the columns they name (an empty
    cell changes from its default); early_retirement is an option."""
    inputs = sample_planning_inputs()
    changed = apply(
        _scenario(
            opex=[{"set": 100}, {"sku": "H100", "change": "+50%"}],
            availability_share=[{"sku": "GB200", "set": 0.9}, {"sku": "B200", "factor": 0.95}],
            salvage_value=[{"sku": "H100", "set": -250}, {"site": "texas", "change": "+10%"}],
            options={"early_retirement": not inputs.options.early_retirement},
        ),
        inputs,
    )
    catalog = changed.catalog.set_index("sku")
    assert catalog["opex"].to_dict() == {s: 150.0 if s == "H100" else 100.0 for s in catalog.index}
    share = inputs.catalog.set_index("sku")["availability"]
    assert catalog.at["GB200", "availability"] == 0.9
    assert catalog.at["B200", "availability"] == pytest.approx(
        0.95 * (1.0 if pd.isna(share["B200"]) else share["B200"])
    )
    others = ["GB200", "B200"]
    assert catalog["availability"].drop(others).equals(share.drop(others))  # unchanged
    fleet = changed.fleet
    expected = np.where(fleet["sku"] == "H100", -250.0, 0.0) * np.where(
        fleet["site"] == "texas", 1.1, 1.0
    )
    np.testing.assert_allclose(fleet["salvage_value"].fillna(0.0), expected)
    assert changed.options.early_retirement != inputs.options.early_retirement
    with pytest.raises(InputError) as error:
        apply(_scenario(opex=[{"sku": "XYZ", "set": 1}]), inputs)
    assert "key 'opex.0.sku': unknown SKU 'XYZ'; known in catalog.csv" in str(error.value)
    with pytest.raises(InputError, match=r"key 'salvage_value\.0': selects no row"):
        apply(_scenario(salvage_value=[{"sku": "GB200", "site": "texas", "set": 1}]), inputs)
    with pytest.raises(InputError, match=r"key 'salvage_value\.0\.site': unknown site 'paris'"):
        apply(_scenario(salvage_value=[{"site": "paris", "set": 1}]), inputs)
    with pytest.raises(ValueError, match="this column has no periods"):
        _scenario(opex=[{"sku": "H100", "set": 1, "periods": "2027"}])


def test_a_history_scenario_changes_the_forecast_requirement() -> None:
    from capforecast.core.history import read_history
    from capforecast.examples import sample_history_path
    from capforecast.workflow import forecast_requirement

    history = {"history": str(sample_history_path())}
    scenario = Scenario.model_validate(
        {
            "name": "forecast",
            "inputs": {"planning": str(sample_planning_dir()), **history},
            "forecast": {"paths": 20, "seed": 3, "service_level": 0.8},
            "demand": [{"workload": "inference", "factor": 1.5}],
            "options": {"explain": False},
        }
    )
    run = run_scenario(scenario)
    assert run.plan.has_solution
    expected, _ = forecast_requirement(
        read_history(sample_history_path()), sample_planning_inputs(), n_paths=20, seed=3,
        service_level=0.8,
    )  # fmt: skip
    factor = np.where(expected["workload"] == "inference", 1.5, 1.0)
    np.testing.assert_allclose(run.inputs.demand["demand"], expected["demand"] * factor)


def _pressed(**changes: object) -> Scenario:
    """The sample with 40% more demand, so the budget binds and shortfall follows it."""
    return _scenario(demand=[{"factor": 1.4}], options=FAST, **changes)


def _tolerance(run: object) -> float:
    """Shortfall (unit-periods) a plan may differ by within its optimality gap: the gap in
    dollars over the smallest shortfall penalty."""
    plan = run.plan  # type: ignore[attr-defined]
    penalty = 343_750.0  # docs/model.md §5: the smaller default (inference) of the sample
    return abs(plan.objective - plan.bound) / penalty


def test_a_budget_cut_never_lowers_shortfall_and_caps_spend() -> None:
    # Buying capacity costs far less than its shortfall penalty, so with less budget the
    # plan can only buy less and fall shorter; the test allows each plan its MIP gap.
    runs = run_scenarios(budget_sweep(_pressed(), [0.0, -0.1, -0.2, -0.3]), n_jobs=2)
    result = compare({run.name: run.plan for run in runs})
    shortfall = result.kpis["expected_shortfall"].to_numpy()
    for wider, tighter, run in zip(shortfall, shortfall[1:], runs, strict=False):
        assert tighter >= wider - _tolerance(run)
    assert shortfall[-1] > shortfall[0] + 10_000  # a 30% cut costs 10,000+ unit-periods
    assert (result.kpis["total_cost"].diff().dropna() > 0).all()
    for run, factor in zip(runs, [1.0, 0.9, 0.8, 0.7], strict=True):
        spend = run.plan.spend
        budget = sample_planning_inputs().budget["capex_budget"].to_numpy() * factor
        assert (spend["capex"].to_numpy() <= budget + 1e-6).all()
    assert "expected shortfall" in result.summary[-1]


def test_a_lead_time_slip_moves_orders_earlier_or_raises_rent_and_shortfall() -> None:
    base = run_scenario(_scenario(options={"explain": False}))
    slip = run_scenario(
        _scenario(lead_time=[{"sku": "B200", "add": 2}], options={"explain": False})
    )

    def b200(run: object) -> pd.DataFrame:
        orders = run.plan.purchases  # type: ignore[attr-defined]
        return orders[orders["sku"] == "B200"]

    def mean_order(run: object) -> float:
        orders = b200(run)
        return float(
            np.average(orders["order_period"].map(lambda p: p.ordinal), weights=orders["units"])
        )

    def rent_and_shortfall(run: object) -> float:
        costs = run.plan.costs  # type: ignore[attr-defined]
        return costs["rent"] + costs["shortfall"]

    # The slipped B200 is ordered earlier, or less of it (other SKUs instead: with the
    # terminal value, a B200 arriving 2 quarters later is worth less), or the plan rents
    # and falls short more.
    fewer = b200(slip)["units"].sum() < b200(base)["units"].sum()
    earlier = not b200(slip).empty and mean_order(slip) < mean_order(base)
    dearer = rent_and_shortfall(slip) > rent_and_shortfall(base) + 1.0
    assert earlier or fewer or dearer
    # Arriving later can only make the plan dearer (within the solver's gap).
    assert slip.plan.objective >= base.plan.objective - abs(base.plan.objective - base.plan.bound)
    arrivals = b200(slip)
    pairs = zip(arrivals["arrival_period"], arrivals["order_period"], strict=True)
    gap = [(arrival - order).n for arrival, order in pairs]
    assert all(g == 4 for g in gap)  # the slipped lead time is the one solved


def test_runs_on_dask_equal_runs_in_process(client: Client) -> None:
    scenarios = budget_sweep(_scenario(options={"explain": False}), [0.0, -0.2])
    local = run_scenarios(scenarios, n_jobs=1)
    remote = run_scenarios(scenarios, client=client)
    assert [r.name for r in remote] == [r.name for r in local]
    for one, other in zip(local, remote, strict=True):
        assert one.plan.objective == pytest.approx(other.plan.objective, rel=1e-9)
        pd.testing.assert_frame_equal(one.plan.purchases, other.plan.purchases)


def test_cli_report_from_an_empty_folder_and_the_plan_reproduces(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a new user writes, following the README: a baseline and a 2027 budget cut.
    monkeypatch.chdir(tmp_path)
    _write(
        tmp_path,
        "baseline",
        {"inputs": {"planning": str(sample_planning_dir())}, "options": {"explain": False}},
    )
    _write(
        tmp_path,
        "cut",
        {
            "extends": "baseline.yaml",
            "description": "2027 budget -20%",
            "budget": [{"periods": "2027", "change": "-20%"}],
        },
    )
    result = cli("report", "baseline.yaml", "cut.yaml", "--out", "out")
    assert result.code == 0, result.stderr
    assert (tmp_path / "out" / "report.html").is_file()
    assert (tmp_path / "out" / "report.xlsx").is_file()
    kpis = pd.read_csv(tmp_path / "out" / "kpis.csv").set_index("scenario")
    assert list(kpis.index) == ["baseline", "cut"]
    assert kpis.loc["cut", "total_cost"] >= kpis.loc["baseline", "total_cost"] * (1 - 1e-3)
    assert "cut against baseline" in (tmp_path / "out" / "summary.md").read_text()
    # The changed inputs were written with the plan; solving them again gives its cost.
    written = tmp_path / "out" / "scenarios" / "cut"
    budget = pd.read_csv(written / "inputs" / "budget.csv")["capex_budget"].to_numpy()
    np.testing.assert_allclose(
        budget[:4], 0.8 * sample_planning_inputs().budget["capex_budget"][:4]
    )
    again = cli("plan", written / "inputs", "--out", tmp_path / "again")
    assert again.code == 0, again.stderr
    first = yaml.safe_load((written / "plan.json").read_text())["objective"]
    second = yaml.safe_load((tmp_path / "again" / "plan.json").read_text())["objective"]
    assert second == pytest.approx(first, rel=1e-9)
    failed = cli("compare", "baseline.yaml", "missing.yaml", "--out", "out")
    assert failed.code == 2 and "missing.yaml" in failed.stderr and "Traceback" not in failed.stderr


def test_cli_sweep_writes_a_frontier(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    document = _pressed().model_dump(mode="json", exclude_unset=True, exclude={"name"})
    path = _write(tmp_path, "pressed", document)
    result = cli(
        "sweep",
        path,
        "--out",
        tmp_path / "out",
        "--budget-from",
        "-30%",
        "--budget-to",
        "0%",
        "--steps",
        "3",
        "--jobs",
        "2",
    )
    assert result.code == 0, result.stderr
    points = pd.read_csv(tmp_path / "out" / "frontier.csv").set_index("scenario")
    assert sorted(points.index) == sorted(
        ["pressed budget -30%", "pressed budget -15%", "pressed budget +0%"]
    )
    assert points["efficient"].all()  # more budget: more capex, less shortfall
    by_capex = points.sort_values("capex")
    assert by_capex["expected_shortfall"].is_monotonic_decreasing
    assert list(by_capex.index) == [
        "pressed budget -30%",
        "pressed budget -15%",
        "pressed budget +0%",
    ]
    bad = cli("sweep", path, "--out", tmp_path / "x", "--budget-from", "10%", "--budget-to", "0%")
    assert bad.code == 2 and "from < to" in bad.stderr


def test_a_plan_without_solution_compares_as_unknown_not_as_perfect() -> None:
    from capforecast.plan.solve import solve
    from capforecast.scenario.compare import frontier

    inputs = sample_planning_inputs().with_options(explain=False)
    broke = inputs.with_options(shortfall="forbid").with_tables(
        budget=inputs.budget.assign(capex_budget=0.0)
    )
    result = compare({"base": solve(inputs), "broke": solve(broke)})
    row = result.kpis.loc["broke"]
    assert row["status"] == "infeasible" and row["first_shortfall"] == "n/a"
    assert np.isnan(row[["total_cost", "expected_shortfall", "coverage"]].astype(float)).all()
    assert list(frontier(result).index) == ["base"]  # no point for a plan that is not
    assert result.summary == [
        "broke against base: broke has no plan (infeasible); nothing to compare."
    ]
    alone = compare({"broke": solve(broke)})
    assert alone.capex_by_year.empty and alone.units_by_sku.empty


def test_options_are_checked_against_the_tables_and_inputs_write_back_exactly(
    tmp_path: Path,
) -> None:
    from capforecast.plan.inputs import read_planning_inputs, write_planning_inputs

    typo = _scenario(options={"shortfall_penalty": {"trainig": 1e6}})
    with pytest.raises(InputError, match="trainig"):
        apply(typo, sample_planning_inputs())
    with pytest.raises(ValueError, match="period_freq"):
        _scenario(options={"period_freq": "M"})
    with pytest.raises(ValueError, match="either available: false, or from"):
        _scenario(availability=[{"sku": "B200", "available": False, "from": "2027Q3"}])
    changed = apply(_scenario(budget=[{"factor": 1.23456789123}]), sample_planning_inputs())
    (tmp_path / "rent.csv").write_text("stale")  # from an earlier write
    write_planning_inputs(changed.with_tables(rent=None), tmp_path)
    again = read_planning_inputs(tmp_path)
    assert again.budget["capex_budget"].tolist() == changed.budget["capex_budget"].tolist()
    assert again.rent.empty and not (tmp_path / "rent.csv").exists()


def test_cli_names_user_mistakes_with_exit_2(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    base = _write(tmp_path, "base", {"inputs": {"planning": str(sample_planning_dir())}})
    twice = cli("compare", base, base, "--out", tmp_path / "o")
    assert twice.code == 2 and "names must differ" in twice.stderr
    typo = cli("compare", base, "--baseline", "bsae", "--out", tmp_path / "o")
    assert typo.code == 2 and "'bsae' is not one of the scenarios" in typo.stderr
    (tmp_path / "latin.yaml").write_bytes("description: caf\xe9\n".encode("latin-1"))
    latin = cli("run", tmp_path / "latin.yaml", "--out", tmp_path / "o")
    assert latin.code == 2 and "not UTF-8" in latin.stderr
    names = [s.name for s in budget_sweep(_scenario(), [-0.01, -0.005, 0.0, 0.005, 0.01])]
    assert len(set(names)) == 5 and names[2] == "s budget +0%"
