"""Sanity checks on magnitudes (docs/model.md §7): a number typed in the wrong unit gives
one readable warning naming the likely mistake, as a finding, a ``PlanningWarning`` and a
line of the plan's warnings; so do a misspelt workload, the default shortfall penalty and
the ordering window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capforecast.core.errors import PlanningWarning
from capforecast.examples import sample_planning_inputs
from capforecast.plan.inputs import PlanningInputs
from capforecast.plan.solve import solve
from tests.conftest import CliResult

Edit = Callable[[PlanningInputs], PlanningInputs]


@pytest.fixture(scope="module")
def sample() -> PlanningInputs:
    return sample_planning_inputs()


def _set(table: str, key: str, name: str, column: str, value: object) -> Edit:
    """Set ``column`` of the row of ``table`` whose ``key`` is ``name``."""

    def edit(inputs: PlanningInputs) -> PlanningInputs:
        changed = getattr(inputs, table).copy()
        changed.loc[changed[key] == name, column] = value
        return inputs.with_tables(**{table: changed})

    return edit


def _budget_in_millions(inputs: PlanningInputs) -> PlanningInputs:
    budget = inputs.budget.assign(capex_budget=inputs.budget["capex_budget"] / 1e6)
    return inputs.with_tables(budget=budget)


def _misspelt_workload(inputs: PlanningInputs) -> PlanningInputs:
    # The EU inference rows say 'infrence'; a penalty is given for every workload (else
    # loading fails: a workload no SKU serves has no default penalty).
    demand = inputs.demand.copy()
    eu = (demand["workload"] == "inference") & (demand["region"] == "eu")
    demand.loc[eu, "workload"] = "infrence"
    return inputs.with_options(shortfall_penalty=400_000.0).with_tables(demand=demand)


@dataclass(frozen=True)
class Mistake:
    name: str
    edit: Edit
    check: str
    words: tuple[str, ...]


MISTAKES = [
    Mistake(
        "budget typed in $M",
        _budget_in_millions,
        "budget_magnitude",
        ("budget.csv, row 2, column 'capex_budget'", "12 periods (2027Q1..2029Q4)", "$110 ",
         "Gaudi3: 8 x $30,000 = $240,000", "typed in $k or $M? budgets are USD"),
    ),
    Mistake(
        "power cap typed in MW",
        _set("sites", "site", "virginia", "power_cap_kw", 32.0),
        "fleet_power",
        ("site 'virginia'", "over the power cap of 32.0 kW", "12 periods (2027Q1..2029Q4)",
         "typed in MW? power caps are kW"),
    ),
    Mistake(
        "PUE 112",
        _set("sites", "site", "finland", "pue", 112.0),
        "pue_magnitude",
        ("sites.csv, row 5, column 'pue'", "PUE of 112", "112 for 1.12"),
    ),
    Mistake(
        "kW typed in W",
        _set("catalog", "sku", "MI300X", "power_kw", 1350.0),
        "power_magnitude",
        ("catalog.csv, row 6, column 'power_kw'", "1,350 kW per accelerator", "typed in W?"),
    ),
    Mistake(
        "price typed in $k",
        _set("catalog", "sku", "MI300X", "unit_price", 32.0),
        "price_magnitude",
        ("catalog.csv, row 6, column 'unit_price'", "$32 per accelerator", "typed in $k?"),
    ),
    Mistake(
        "perf factor 100",
        _set("perf", "sku", "B200", "factor", 100.0),
        "perf_magnitude",
        ("perf.csv, row 6, column 'factor'", "perf factor of 100",
         "'training', 'inference'", "percentage"),
    ),
    Mistake(
        "workload typo in demand",
        _misspelt_workload,
        "unservable_workload",
        ("workload 'infrence' in region 'eu'", "ALL of its demand", "will be unmet",
         "$400,000 per reference unit-period", "did you mean 'inference'?"),
    ),
]  # fmt: skip

#: The checks a sound input must not trip.
SANITY = {m.check for m in MISTAKES} | {
    "power_cap_magnitude",
    "perf_workload_without_demand",
    "default_penalty",
}


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_a_unit_mistake_gives_one_readable_warning(
    mistake: Mistake, sample: PlanningInputs
) -> None:
    with pytest.warns(PlanningWarning) as caught:
        inputs = mistake.edit(sample)
    found = [f for f in inputs.findings if f.check == mistake.check]
    assert len(found) == 1, [str(f) for f in found]
    assert found[0].severity == "warning"
    text = str(found[0])
    for words in mistake.words:
        assert words in text, text
    assert [str(w.message) for w in caught].count(text) == 1
    # Nothing else about the sample's magnitudes is wrong.
    others = {f.check for f in inputs.findings} & SANITY - {mistake.check}
    assert others <= {"fleet_power", "min_lots_too_large"}, others


def test_the_warnings_are_in_the_plan(sample: PlanningInputs) -> None:
    inputs = sample.with_options(explain=False)
    for mistake in MISTAKES[2:]:  # those that leave the plan cheap to solve
        inputs = mistake.edit(inputs)
    plan = solve(inputs)
    for check in (m.check for m in MISTAKES[2:]):
        assert sum(w.startswith(f"[{check}]") for w in plan.warnings) == 1, plan.warnings
    # The headline counts them and names demand nothing can serve first.
    *_, line = repr(plan).splitlines()
    assert line.startswith(f"  {len(plan.warnings)} warnings: [unservable_workload]"), line


def test_the_sample_is_sane(sample: PlanningInputs) -> None:
    assert not {f.check for f in sample.findings} & SANITY
    assert {f.check for f in sample.findings} == {"ordering_window"}


def test_a_misspelt_perf_workload_suggests_the_name(sample: PlanningInputs) -> None:
    perf = sample.perf.copy()
    perf.loc[perf["workload"] == "inference", "workload"] = "inferense"
    with pytest.warns(PlanningWarning, match="did you mean 'inference'"):
        inputs = sample.with_options(shortfall_penalty=1e5).with_tables(perf=perf)
    found = [f for f in inputs.findings if f.check == "perf_workload_without_demand"]
    assert len(found) == 1  # one line for its six rows
    assert "(6 rows)" in str(found[0]) and "perf.csv, row 3" in str(found[0])


def test_a_cap_in_mw_on_a_site_without_fleet_is_below_one_lot(sample: PlanningInputs) -> None:
    inputs = _set("sites", "site", "finland", "power_cap_kw", 6.0)(sample)
    found = [f for f in inputs.findings if f.check == "power_cap_magnitude"]
    assert len(found) == 1  # 2027Q1..2027Q4; site_power.csv gives 14,000 kW from 2028Q1
    assert "sites.csv, row 5, column 'power_cap_kw'" in str(found[0])
    assert "4 periods (2027Q1..2027Q4)" in str(found[0])
    assert "H200 (8 x 1.275 kW x PUE 1.12 = 11.4 kW)" in str(found[0])


def test_the_default_penalty_is_stated(sample: PlanningInputs) -> None:
    with pytest.warns(PlanningWarning, match="default_penalty"):
        inputs = sample.with_options(shortfall_penalty=None)
    found = {str(f) for f in inputs.findings if f.check == "default_penalty"}
    assert len(found) == 2
    (inference,) = (f for f in found if "'inference'" in f)
    for words in (
        "$343,750 per reference unit-period",
        "$156.96 per reference unit-hour at 2,190 hours per period",
        "H200: $55,000 / 1.6",
        "rent.csv prices it at $7,665 to $8,432 per reference unit-period",
        "set shortfall_penalty in options.yaml",
        "docs/your-company.md#choosing-the-shortfall-penalty",
    ):
        assert words in inference, inference
    # Given again, the warning goes (the checks run again on changed options).
    again = inputs.with_options(shortfall_penalty={"inference": 1e5, "training": 1e5})
    assert not [f for f in again.findings if f.check == "default_penalty"]


def test_workloads_sharing_a_default_penalty_share_a_line(sample: PlanningInputs) -> None:
    perf = sample.perf.copy()
    perf.loc[(perf["sku"] == "H200") & (perf["workload"] == "inference"), "factor"] = 1.3
    inputs = sample.with_options(shortfall_penalty=None).with_tables(perf=perf)
    (line,) = (str(f) for f in inputs.findings if f.check == "default_penalty")
    assert "workloads 'inference', 'training'" in line and "$423,077" in line


def test_the_ordering_window_is_one_line_by_lead_time(sample: PlanningInputs) -> None:
    (found,) = [str(f) for f in sample.findings if f.check == "ordering_window"]
    assert (
        "orders must arrive by 2029Q4, so they can be placed only: GB200 (lead time 3) until "
        "2029Q1; B200, MI300X (lead time 2) until 2029Q2; H200, Gaudi3 (lead time 1) until "
        "2029Q3." in found
    )
    assert "extend demand.csv at least 3 periods past 2029Q4" in found
    instant = sample.catalog.assign(lead_time=sample.catalog["lead_time"].where(
        sample.catalog["lead_time"].isna(), 0))  # fmt: skip
    assert not [f for f in sample.with_tables(catalog=instant).findings]


@given(factor=st.floats(0.05, 10.0))
@settings(max_examples=8, deadline=None)
def test_plausible_prices_never_warn(factor: float) -> None:
    inputs = sample_planning_inputs()
    catalog = inputs.catalog.assign(unit_price=inputs.catalog["unit_price"] * factor)
    prices = inputs.prices.assign(unit_price=inputs.prices["unit_price"] * factor)
    changed = inputs.with_tables(catalog=catalog, prices=prices)
    assert not {f.check for f in changed.findings} & SANITY


def test_the_cli_prints_each_warning_once(
    planning_dir: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    sites = (planning_dir / "sites.csv").read_text().replace("finland,1.12,", "finland,112,")
    (planning_dir / "sites.csv").write_text(sites)
    with (planning_dir / "options.yaml").open("a") as options:
        options.write("explain: false\n")
    result = cli("plan", planning_dir, "--out", tmp_path / "out")
    assert result.code == 0, result.stderr
    assert result.stdout.count("[pue_magnitude]") == 1
    assert "[ordering_window]" in result.stdout and "note:" not in result.stderr
