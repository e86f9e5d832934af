"""Scenario knobs for the second planning contract: regions and eligibility, training
clusters, perf factors and power per SKU. Each is a table edit that validates like the
files, names its YAML line when it names something unknown, and moves a small hand-worked
plan the way it says (docs/scenarios.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_geography import _clusters

from capforecast.core.errors import InputError
from capforecast.plan.inputs import PlanningInputs, read_planning_inputs, write_planning_inputs
from capforecast.plan.solve import solve
from capforecast.scenario.apply import apply
from capforecast.scenario.spec import Scenario, read_scenario

#: No energy cost, no discounting, no terminal value: the figures are capex and penalty.
OPTIONS = (
    "hours_per_period: 1000\nload_factor: 1.0\nterminal_value: none\nmip_gap: 0\nexplain: false\n"
)


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def _regional(directory: Path) -> PlanningInputs:
    """One quarter. ``texas`` (us) has 10 ``h100`` (1 reference unit each, 1 kW) and no
    slot for more; ``virginia`` (us) and ``amsterdam`` (eu, 100 kW) are empty; a new h100
    costs 1000 USD (a ``b200``, 5000 USD, serves nothing). Demand: 4 in us, 6 in eu. The
    penalty is 10 x 1000 = 10,000 per unit. The plan serves us from texas and buys 6 at
    amsterdam: 6,000 USD."""
    return read_planning_inputs(
        _write(
            directory,
            {
                "catalog.csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime\n"
                "h100,1000,1,1.0,0,1\nb200,5000,1,1.0,0,1\n",
                "perf.csv": "sku,workload,factor\nh100,inference,1.0\n",
                "sites.csv": "site,pue,energy_price,power_cap_kw,slots,region\n"
                "texas,1.0,0,1000,10,us\nvirginia,1.0,0,1000,,us\namsterdam,1.0,0,100,,eu\n",
                "fleet.csv": "sku,site,units,available_from,retire_period\nh100,texas,10,,\n",
                "budget.csv": "period,capex_budget\n2027Q1,1e6\n",
                "demand.csv": "workload,region,period,demand\n"
                "inference,us,2027Q1,4\ninference,eu,2027Q1,6\n",
                "options.yaml": OPTIONS,
            },
        )
    )


def _clustered(directory: Path) -> PlanningInputs:
    """The three b200 pools of :func:`test_geography._clusters` (``small`` 30, ``mid`` 45,
    ``big`` 60 units, none can grow; 2 reference units each), with the cluster
    ``frontier-2027`` of 100 reference units (50 b200) that fits ``big`` only. Not placed,
    a cluster costs 10 x 1000 / 2 = 5000 USD per reference unit-period."""
    return read_planning_inputs(_clusters(directory, "frontier-2027,frontier,100,2027Q1,2027Q2\n"))


def _scenario(**changes: object) -> Scenario:
    return Scenario.model_validate({"name": "s", "inputs": {"planning": "."}, **changes})


def _served(inputs: PlanningInputs) -> dict[tuple[str, str], float]:
    plan = solve(inputs)
    by = plan.allocation.groupby(["region", "site"])["reference_units"].sum()
    return {key: value for key, value in by.to_dict().items() if value > 1e-9}


def test_allowing_a_site_for_a_region_adds_it_to_the_default(tmp_path: Path) -> None:
    """eu inference may also use texas: its 6 idle units serve the eu, no order, cost 0.
    The pair had no rows, so its default (amsterdam) is written out before texas joins."""
    inputs = _regional(tmp_path)
    base = solve(inputs)
    assert base.objective == pytest.approx(6_000)
    changed = apply(
        _scenario(eligibility=[{"workload": "inference", "region": "eu", "site": "texas"}]),
        inputs,
    )
    rows = changed.eligibility[["workload", "region", "site"]].values.tolist()
    assert rows == [["inference", "eu", "amsterdam"], ["inference", "eu", "texas"]]
    plan = solve(changed)
    assert plan.objective == pytest.approx(0.0)
    assert plan.purchases.empty
    assert _served(changed) == pytest.approx({("eu", "texas"): 6.0, ("us", "texas"): 4.0})


def test_forbidding_a_site_for_a_region_raises_cost_and_moves_allocation(tmp_path: Path) -> None:
    """us inference may no longer use texas: it buys 4 at virginia. 6,000 + 4,000 USD."""
    inputs = _regional(tmp_path)
    changed = apply(
        _scenario(eligibility=[{"region": "us", "site": "texas", "allow": False}]), inputs
    )
    assert changed.eligibility[["workload", "region", "site"]].values.tolist() == [
        ["inference", "us", "virginia"]
    ]
    plan = solve(changed)
    assert plan.objective == pytest.approx(10_000)
    assert _served(changed) == pytest.approx({("eu", "amsterdam"): 6.0, ("us", "virginia"): 4.0})

    with pytest.raises(InputError, match="forbids the last site for workload 'inference'"):
        apply(
            _scenario(eligibility=[{"region": "eu", "site": "amsterdam", "allow": False}]), inputs
        )
    with pytest.raises(InputError, match="site 'virginia' is not eligible there already"):
        apply(_scenario(eligibility=[{"region": "eu", "site": "virginia", "allow": False}]), inputs)


def test_moving_a_site_to_another_region(tmp_path: Path) -> None:
    """texas moves to the eu: its units serve the eu demand, and the us buys 4 at
    virginia (4,000 USD instead of 6,000 at amsterdam)."""
    inputs = _regional(tmp_path)
    changed = apply(_scenario(site_region=[{"site": "texas", "region": "eu"}]), inputs)
    assert changed.sites.set_index("site")["region"].to_dict() == {
        "texas": "eu",
        "virginia": "us",
        "amsterdam": "eu",
    }
    assert solve(changed).objective == pytest.approx(4_000)
    served = _served(changed)
    assert served[("eu", "texas")] == pytest.approx(6.0)
    assert served[("us", "virginia")] == pytest.approx(4.0)
    # Eligibility changes see the moved site: forbidding texas for the eu leaves amsterdam.
    both = apply(
        _scenario(
            site_region=[{"site": "texas", "region": "eu"}],
            eligibility=[{"region": "eu", "site": "texas", "allow": False}],
        ),
        inputs,
    )
    assert both.eligibility["site"].tolist() == ["amsterdam"]


def test_perf_and_power_per_sku(tmp_path: Path) -> None:
    """An h100 worth 2 reference units halves the eu order (3,000 USD); at 20 kW an h100,
    amsterdam's 100 kW hold 5, so one unit of eu demand falls short (5,000 + 10,000)."""
    inputs = _regional(tmp_path / "perf")
    faster = apply(_scenario(perf=[{"sku": "h100", "workload": "inference", "factor": 2}]), inputs)
    assert faster.perf["factor"].tolist() == [2.0]
    assert solve(faster).objective == pytest.approx(3_000)

    hotter = apply(_scenario(power_kw=[{"sku": "h100", "set": 20}]), inputs)
    assert hotter.catalog["power_kw"].tolist() == [20.0, 1.0]
    plan = solve(hotter)
    assert plan.purchases["units"].sum() == 5
    assert plan.objective == pytest.approx(15_000)
    warmer = apply(_scenario(power_kw=[{"change": "+10%"}]), inputs)
    assert warmer.catalog["power_kw"].tolist() == pytest.approx([1.1, 1.1])

    # set with a SKU and a workload it does not serve yet adds the perf.csv row: a b200
    # worth 10 reference units (5000 USD) is cheaper than 6 h100 for the eu.
    added = apply(_scenario(perf=[{"sku": "b200", "workload": "inference", "set": 10}]), inputs)
    assert added.perf[["sku", "workload", "factor"]].values.tolist() == [
        ["h100", "inference", 1.0],
        ["b200", "inference", 10.0],
    ]
    plan = solve(added)
    assert plan.purchases[["sku", "units"]].values.tolist() == [["b200", 1]]
    assert plan.objective == pytest.approx(5_000)
    with pytest.raises(InputError, match="to let a SKU serve a workload it does not yet"):
        apply(_scenario(perf=[{"sku": "b200", "workload": "inference", "factor": 2}]), inputs)


def test_cluster_add_remove_shift_and_resize(tmp_path: Path) -> None:
    inputs = _clustered(tmp_path)
    assert solve(inputs).objective == pytest.approx(0.0)

    # A second cluster of 80 reference units (40 b200) in 2027Q1, only at mid or small:
    # mid's 45 hold it, and it is in the plan.
    added = apply(
        _scenario(
            clusters=[
                {
                    "cluster": "second",
                    "add": {
                        "workload": "frontier",
                        "size": 80,
                        "start": "2027Q1",
                        "end": "2027Q1",
                        "skus": ["b200"],
                        "sites": ["mid", "small"],
                    },
                }
            ]
        ),
        inputs,
    )
    row = added.clusters.set_index("cluster").loc["second"]
    assert (row["size"], str(row["start"]), str(row["end"]), row["sites"]) == (
        80.0,
        "2027Q1",
        "2027Q1",
        "mid;small",
    )
    plan = solve(added)
    placed = plan.clusters.set_index("cluster")
    assert set(placed.index) == {"frontier-2027", "second"}
    assert bool(placed.at["second", "placed"]) and placed.at["second", "site"] == "mid"
    assert placed.at["frontier-2027", "site"] == "big"

    removed = apply(_scenario(clusters=[{"cluster": "frontier-2027", "remove": True}]), inputs)
    assert removed.clusters.empty and solve(removed).clusters.empty

    # 130 reference units fit no pool: not placed, 5000 x 130 x 2 quarters.
    bigger = apply(_scenario(clusters=[{"cluster": "frontier-2027", "factor": 1.3}]), inputs)
    assert float(bigger.clusters["size"].iloc[0]) == pytest.approx(130)
    plan = solve(bigger)
    assert not bool(plan.clusters["placed"].iloc[0])
    assert plan.objective == pytest.approx(1_300_000)

    # Shifted one quarter later it runs in 2027Q2 only (of the horizon): half the penalty.
    later = apply(
        _scenario(clusters=[{"cluster": "frontier-2027", "shift": 1, "change": "+30%"}]), inputs
    )
    cluster = later.clusters.iloc[0]
    assert (str(cluster["start"]), str(cluster["end"])) == ("2027Q2", "2027Q3")
    assert solve(later).objective == pytest.approx(650_000)

    # The changed inputs write and read back as files.
    write_planning_inputs(added, tmp_path / "written")
    again = read_planning_inputs(tmp_path / "written")
    assert again.clusters["cluster"].tolist() == ["frontier-2027", "second"]


def test_unknown_names_are_errors_at_their_yaml_line(tmp_path: Path) -> None:
    regional = _regional(tmp_path / "regional")
    path = tmp_path / "bad.yaml"
    path.write_text(
        "inputs: {planning: regional}\n"
        "eligibility:\n"
        "  - {workload: inference, region: eu, site: dallas}\n"
        "  - {workload: training, region: eu, site: texas}\n"
        "  - {region: apac, site: texas}\n"
        "site_region: [{site: paris, region: eu}]\n"
        "perf: [{sku: h100, workload: inference, factor: 2}, {sku: a100, factor: 2}]\n"
        "power_kw:\n"
        "  - {sku: b300, set: 2}\n"
    )
    with pytest.raises(InputError) as raised:
        apply(read_scenario(path), regional)
    found = {(p.row, p.column) for p in raised.value.problems}
    assert found == {
        (3, "eligibility.0.site"),
        (4, "eligibility.1.workload"),
        (5, "eligibility.2.region"),
        (6, "site_region.0.site"),
        (7, "perf.1.sku"),
        (9, "power_kw.0.sku"),
    }
    text = str(raised.value)
    assert "bad.yaml, line 3, key 'eligibility.0.site': unknown site 'dallas'" in text
    assert "unknown region 'apac'; known in demand.csv: ['eu', 'us']" in text

    clustered = _clustered(tmp_path / "clustered")
    path = tmp_path / "clusters.yaml"
    path.write_text(
        "inputs: {planning: clustered}\n"
        "clusters:\n"
        "  - {cluster: nosuch, shift: 1}\n"
        "  - cluster: new\n"
        "    add:\n"
        "      workload: frontier\n"
        "      size: 10\n"
        "      start: 2027Q1\n"
        "      end: 2027Q5\n"
        "      skus: [b200, h200]\n"
        "  - {cluster: frontier-2027, add: {workload: frontier, size: 1,\n"
        "                                   start: 2027Q1, end: 2027Q1}}\n"
        "  - {cluster: other, add: {workload: inference, size: 1, start: 2027Q2, end: 2027Q1}}\n"
    )
    with pytest.raises(InputError) as raised:
        apply(read_scenario(path), clustered)
    found = {(p.row, p.column) for p in raised.value.problems}
    assert found == {
        (3, "clusters.0.cluster"),
        (9, "clusters.1.add.end"),
        (10, "clusters.1.add.skus"),
        (11, "clusters.2.cluster"),
        (13, "clusters.3.add.workload"),
    }
    text = str(raised.value)
    assert "unknown cluster 'nosuch'; known in clusters.csv: ['frontier-2027']" in text
    assert "unknown SKU 'h200'" in text and "already exists" in text
    # Without regions, region knobs are errors, not silent no-ops.
    with pytest.raises(InputError, match="the planning inputs have no regions"):
        apply(_scenario(site_region=[{"site": "big", "region": "eu"}]), clustered)


def test_cluster_changes_are_checked_as_the_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "inputs: {planning: p}\n"
        "clusters:\n"
        "  - {cluster: a, remove: true, shift: 1}\n"
        "  - {cluster: b}\n"
        "  - {cluster: c, factor: 2, set: 3}\n"
        "  - {cluster: d, add: {workload: w, size: 1, start: 2027Q1, end: 2027Q1}, shift: 1}\n"
        "  - {cluster: 'e;f', shift: 1}\n"
        "eligibility: [{region: eu, site: texas, allow: maybe}]\n"
        "perf: [{sku: h100, factor: 2, periods: '2027'}]\n"
    )
    with pytest.raises(InputError) as raised:
        read_scenario(path)
    rows = {p.row for p in raised.value.problems}
    assert rows == {3, 4, 5, 6, 7, 8, 9}
    text = str(raised.value)
    assert "'remove: true' takes nothing else" in text
    assert "give add, remove: true, shift, or one of set, factor or change" in text
    assert "this column has no periods" in text
    # Extends: a child's changes count after its base's, at the child's lines.
    (tmp_path / "base.yaml").write_text(
        "inputs: {planning: p}\nclusters: [{cluster: a, shift: 1}]\n"
    )
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\nclusters:\n  - {cluster: b, factor: 2}\n"
    )
    child = read_scenario(tmp_path / "child.yaml")
    assert [c.cluster for c in child.clusters] == ["a", "b"]
    assert child.line("clusters", 1) == 3 and child.line("clusters", 0) is None
    assert child.changes() == 2
