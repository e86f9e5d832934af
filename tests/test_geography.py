"""Hand-worked instances of regions, eligibility and training clusters (docs/model.md
§6.12-6.13).

Every expected figure is computed by hand in the comments; the library and the independent
reference (:mod:`tests.reference_milp`) must both reproduce it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reference_milp import reference_solve
from test_fleet_refresh import _write

from capforecast.core.errors import InputError
from capforecast.plan.inputs import read_planning_inputs
from capforecast.plan.solve import solve

#: No energy cost, no discounting, no terminal value: the figures are capex and penalty.
OPTIONS = "hours_per_period: 1000\nload_factor: 1.0\nterminal_value: none\nmip_gap: 0\n"


def _regional(directory: Path, eligibility: str | None = None) -> Path:
    """One quarter. Site ``texas`` (us) has 10 ``h100`` (1 reference unit each) and room for
    nothing more; site ``amsterdam`` (eu) is empty and may take new ``h100`` at 1000 USD.
    Demand: 4 in us, 6 in eu. Default penalty 10 * 1000 = 10,000 per reference unit."""
    files = {
        "catalog.csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime\nh100,1000,1,1.0,0,1\n",
        "perf.csv": "sku,workload,factor\nh100,inference,1.0\n",
        "sites.csv": "site,pue,energy_price,power_cap_kw,region\n"
        "texas,1.0,0,10,us\namsterdam,1.0,0,100,eu\n",
        "fleet.csv": "sku,site,units,available_from,retire_period\nh100,texas,10,,\n",
        "budget.csv": "period,capex_budget\n2027Q1,1e6\n",
        "demand.csv": "workload,region,period,demand\n"
        "inference,us,2027Q1,4\ninference,eu,2027Q1,6\n",
        "options.yaml": OPTIONS,
    }
    if eligibility is not None:
        files["eligibility.csv"] = eligibility
    return _write(directory, files)


def test_eu_demand_cannot_use_a_us_site(tmp_path: Path) -> None:
    """Texas has 6 idle units after serving us demand, but eu demand may only use eu sites:
    the plan buys 6 h100 at amsterdam (6,000 USD) instead of serving the eu from texas
    (0 USD, as the region-blind model would). Allowing texas for eu in eligibility.csv
    makes the idle units serve it and the cost 0."""
    plan = solve(read_planning_inputs(_regional(tmp_path / "kept")))
    assert plan.objective == pytest.approx(6_000)
    assert plan.purchases[["site", "units"]].values.tolist() == [["amsterdam", 6]]
    served = plan.allocation.groupby(["region", "site"])["reference_units"].sum().to_dict()
    assert served == pytest.approx({("eu", "amsterdam"): 6.0, ("us", "texas"): 4.0})
    assert set(plan.shortfall["region"]) == {"us", "eu"}
    assert reference_solve(tmp_path / "kept").objective == pytest.approx(6_000)

    allowed = "workload,region,site\ninference,eu,texas\ninference,eu,amsterdam\n"
    folder = _regional(tmp_path / "allowed", allowed)
    plan = solve(read_planning_inputs(folder))
    assert plan.objective == pytest.approx(0.0)
    assert plan.purchases.empty
    assert reference_solve(folder).objective == pytest.approx(0.0)


def test_eligibility_can_also_narrow_a_region(tmp_path: Path) -> None:
    """Eligibility rows replace the default for their pair: eu inference listed only at
    texas cannot use amsterdam, so it is served from texas's 6 idle units: cost 0, no
    orders. (Listing a pair is a whole list, not an addition.)"""
    folder = _regional(tmp_path, "workload,region,site\ninference,eu,texas\n")
    plan = solve(read_planning_inputs(folder))
    assert plan.objective == pytest.approx(0.0)
    assert set(plan.allocation["site"]) == {"texas"}


def test_regions_are_validated_with_file_row_and_column(tmp_path: Path) -> None:
    """A site without a region when demand has regions, and a rent row without one, are
    errors naming file, row and column."""
    folder = _regional(tmp_path)
    sites = (folder / "sites.csv").read_text().replace(",eu\n", ",\n")
    (folder / "sites.csv").write_text(sites)
    (folder / "rent.csv").write_text("workload,period,price,max_units\ninference,2027Q1,5,1\n")
    with pytest.raises(InputError) as raised:
        read_planning_inputs(folder)
    text = str(raised.value)
    assert "sites.csv, row 3, column 'region'" in text
    assert "rent.csv, row 2, column 'region'" in text


def _clusters(directory: Path, cluster: str, options: str = OPTIONS) -> Path:
    """Two quarters. Three pools of ``b200`` (2 reference units each for training):
    ``small`` has 30 units, ``mid`` 45, ``big`` 60, none can grow (power caps at the fleet).
    The cluster needs 100 reference units = 50 units, in both quarters: only ``big`` holds
    it. Together the pools hold 135 units = 270 reference units, plenty if a split were
    allowed."""
    return _write(
        directory,
        {
            "catalog.csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime\n"
            "b200,1000,1,1.0,0,1\n",
            "perf.csv": "sku,workload,factor\nb200,frontier,2.0\n",
            "sites.csv": "site,pue,energy_price,power_cap_kw\n"
            "small,1.0,0,30\nmid,1.0,0,45\nbig,1.0,0,60\n",
            "fleet.csv": "sku,site,units,available_from,retire_period\n"
            "b200,small,30,,\nb200,mid,45,,\nb200,big,60,,\n",
            "budget.csv": "period,capex_budget\n2027Q1,0\n2027Q2,0\n",
            "demand.csv": "workload,period,demand\nfrontier,2027Q1,0\nfrontier,2027Q2,0\n",
            "clusters.csv": "cluster,workload,size,start,end\n" + cluster,
            "options.yaml": options,
        },
    )


def test_a_cluster_chooses_the_one_pool_big_enough(tmp_path: Path) -> None:
    """The 100-unit cluster is placed whole on ``big`` (50 of its 60 b200), at no cost."""
    folder = _clusters(tmp_path, "frontier-2027,frontier,100,2027Q1,2027Q2\n")
    plan = solve(read_planning_inputs(folder))
    assert plan.objective == pytest.approx(0.0)
    placed = plan.clusters.iloc[0]
    assert (bool(placed["placed"]), placed["sku"], placed["site"], placed["units"]) == (
        True,
        "b200",
        "big",
        50,
    )
    assert reference_solve(folder).placed == {"frontier-2027": ("b200", "big")}


def test_a_cluster_no_pool_can_hold_is_not_placed_at_its_penalty(tmp_path: Path) -> None:
    """130 reference units = 65 b200: no pool has them (the three together would). The
    cluster is not placed; its penalty is 10 * 1000 / 2 = 5000 per reference unit-period,
    times 130 units, times 2 quarters = 1,300,000 USD (undiscounted: no discount rate)."""
    folder = _clusters(tmp_path, "frontier-2027,frontier,130,2027Q1,2027Q2\n")
    plan = solve(read_planning_inputs(folder))
    assert plan.objective == pytest.approx(1_300_000)
    assert plan.costs["unplaced_clusters"] == pytest.approx(1_300_000)
    row = plan.clusters.iloc[0]
    assert not bool(row["placed"]) and row["penalty"] == pytest.approx(1_300_000)
    assert plan.allocation.empty  # no split across pools: nothing of it is served
    assert reference_solve(folder).objective == pytest.approx(1_300_000)
    # The closest pool is big: 60 b200 (availability 1) and no free power, 5 short of 65.
    said = [line for line in plan.explanations if "frontier-2027" in line]
    assert said and "was not placed" in said[0]
    assert "the closest, big with 60 b200 available in 2027Q1, needs 65: 5 more" in said[0]


def test_a_cluster_that_must_be_placed_but_cannot_is_diagnosed(tmp_path: Path) -> None:
    """With ``shortfall: forbid`` the 130-unit cluster makes the model infeasible, and the
    diagnosis says leaving one cluster unplaced is what makes it feasible."""
    folder = _clusters(
        tmp_path, "frontier-2027,frontier,130,2027Q1,2027Q2\n", OPTIONS + "shortfall: forbid\n"
    )
    plan = solve(read_planning_inputs(folder))
    assert plan.status == "infeasible"
    said = [line for line in plan.diagnosis if "(cluster)" in line]
    assert said == [
        "It becomes feasible with training clusters left unplaced: 1 cluster in all "
        "(cluster), largest 1 cluster at frontier-2027."
    ]


def test_a_cluster_restricted_to_sites_and_skus(tmp_path: Path) -> None:
    """Restricted to ``mid;small`` (45 and 30 b200) the 80-unit cluster (40 b200) goes to
    ``mid``; restricted to a SKU it has no factor for, it is unknown."""
    row = "c,frontier,80,2027Q1,2027Q1,,,mid;small\n"
    header = "cluster,workload,size,start,end,region,skus,sites\n"
    folder = _clusters(tmp_path / "sites", row)
    (folder / "clusters.csv").write_text(header + row)
    plan = solve(read_planning_inputs(folder))
    assert plan.clusters["site"].tolist() == ["mid"]

    bad = _clusters(tmp_path / "bad", "")
    (bad / "clusters.csv").write_text(
        header + "c,frontier,80,2027Q2,2027Q1,,h200,\nd,frontier,1e300,2027Q1,2027Q1,,,\n"
    )
    with pytest.raises(InputError) as raised:
        read_planning_inputs(bad)
    text = str(raised.value)
    assert "clusters.csv, row 2, column 'end'" in text
    assert "clusters.csv, row 2, column 'skus': unknown SKU 'h200'" in text
    assert "clusters.csv, row 3, column 'size': must be >= 0 and <= 1e+09" in text


def test_the_sample_plan_keeps_clusters_whole_eu_inference_in_the_eu_and_its_end_fed() -> None:
    """On the bundled sample (docs/model.md §6.12-6.13): the frontier cluster is one block
    of one SKU at one site; every unit serving EU inference is at an EU site; and the
    horizon does not starve the last quarters: no demand is unmet in the last year, and
    orders are still placed in it (the terminal value credits what they are worth after
    the horizon). Without the terminal value the same plan buys less in its last year."""
    from capforecast.examples import sample_planning_inputs

    inputs = sample_planning_inputs()
    plan = solve(inputs)
    assert plan.status == "optimal"
    clusters = plan.clusters
    assert len(clusters) == 1 and bool(clusters["placed"].iloc[0])
    assert clusters["units"].iloc[0] == 3_200  # 8,000 / 2.5 GB200 at texas

    region_of = inputs.sites.set_index("site")["region"]
    eu_inference = plan.allocation[
        (plan.allocation["workload"] == "inference") & (plan.allocation["region"] == "eu")
    ]
    assert not eu_inference.empty
    assert set(eu_inference["site"].map(region_of)) == {"eu"}

    last_year = [str(p) for p in inputs.periods[-4:]]
    late = plan.shortfall[plan.shortfall["period"].astype(str).isin(last_year)]
    assert late["unmet"].sum() == pytest.approx(0.0, abs=1e-6)
    ordered_late = plan.purchases[plan.purchases["order_period"].astype(str).isin(last_year)]
    assert ordered_late["units"].sum() > 0
    without = solve(inputs.with_options(terminal_value="none"))
    late_without = without.purchases[without.purchases["order_period"].astype(str).isin(last_year)]
    assert late_without["units"].sum() < ordered_late["units"].sum()


def test_an_unplaced_cluster_names_the_retirement_that_would_make_room(tmp_path: Path) -> None:
    """``big`` also holds 10 ``old`` units (1 kW each) and is at its power cap (70 kW), so
    the 130-unit cluster (65 b200) is 5 b200 = 5 kW short there: retiring 5 old units would
    make room (and a budget would buy the 5 b200)."""
    folder = _clusters(tmp_path, "frontier-2027,frontier,130,2027Q1,2027Q2\n")
    catalog = (folder / "catalog.csv").read_text() + "old,,,1.0,,\n"
    (folder / "catalog.csv").write_text(catalog)
    (folder / "sites.csv").write_text(
        (folder / "sites.csv").read_text().replace("big,1.0,0,60", "big,1.0,0,70")
    )
    (folder / "fleet.csv").write_text((folder / "fleet.csv").read_text() + "old,big,10,,\n")
    plan = solve(read_planning_inputs(folder))
    said = [line for line in plan.explanations if "frontier-2027" in line]
    assert said and said[0].endswith(
        "needs 65: 5 more, 0.01 MW beyond what the plan leaves free; retiring 5 old at big "
        "by 2027Q1 would make room (early_retirement: true lets the plan)."
    )
