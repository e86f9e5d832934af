"""Requirement by region: paths are summed per workload and region before any quantile,
scenarios are joint draws over every region, and the quarterly plan keeps the region."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capforecast import InputError, requirement, requirement_scenarios
from capforecast.examples import sample_history, sample_planning_dir, sample_planning_inputs
from capforecast.plan.inputs import PlanningInputs
from capforecast.requirement import regions_of, requirement_paths
from capforecast.requirement.aggregate import PeriodStat
from capforecast.workflow import demand_by_region, forecast_requirement, quarterly_plan
from tests.test_requirement import gamma_paths

PERIODS = pd.period_range("2027Q1", periods=2, freq="Q")
DAYS = pd.date_range(PERIODS[0].start_time, PERIODS[-1].end_time.normalize(), freq="D")
ATTRIBUTES = pd.DataFrame(
    {
        "unique_id": ["a", "b", "c", "d", "e"],
        "workload": ["training", "training", "training", "inference", "inference"],
        "sku": ["H100", "B200", "H100", "H100", "B200"],
        "region": ["us", "us", "eu", "eu", "eu"],
    }
)
PERF = pd.DataFrame(
    {
        "sku": ["H100", "B200", "H100", "B200"],
        "workload": ["training", "training", "inference", "inference"],
        "factor": [1.0, 2.0, 1.0, 3.0],
    }
)
SITE_REGIONS = {"virginia": "us", "amsterdam": "eu", "texas": "us"}


def _paths(seed: int, n_paths: int = 50, uids: list[str] | None = None) -> pd.DataFrame:
    return gamma_paths(seed, n_paths, uids or list(ATTRIBUTES["unique_id"]))


def _by_pandas(paths: pd.DataFrame, level: float, stat: str) -> pd.Series:
    """The definition by region, written plainly with pandas group-bys."""
    table = paths.merge(ATTRIBUTES, on="unique_id").merge(PERF, on=["sku", "workload"])
    table["ref"] = table["value"] * table["factor"]
    daily = table.groupby(["workload", "region", "ds", "path"])["ref"].sum().reset_index()
    daily["period"] = daily["ds"].dt.to_period("Q")
    per_path = daily.groupby(["workload", "region", "period", "path"])["ref"].agg(stat)
    return per_path.groupby(level=["workload", "region", "period"]).quantile(level)


@pytest.mark.parametrize("stat", ["mean", "max"])
def test_by_region_matches_the_definition(stat: PeriodStat) -> None:
    paths = _paths(1)
    got = requirement(
        paths,
        ATTRIBUTES,
        PERF,
        PERIODS,
        service_level=0.9,
        period_stat=stat,
        utilization_target=1.0,
        by_region=True,
    )
    assert list(got.columns) == ["workload", "region", "period", "demand"]
    # Sorted by workload, then region; every group has every period.
    assert got[["workload", "region"]].drop_duplicates().to_numpy().tolist() == [
        ["inference", "eu"],
        ["training", "eu"],
        ["training", "us"],
    ]
    assert got["period"].tolist() == list(PERIODS) * 3
    expected = _by_pandas(paths, 0.9, stat)
    np.testing.assert_allclose(
        got.set_index(["workload", "region", "period"])["demand"].sort_index().to_numpy(),
        expected.sort_index().to_numpy(),
    )


def test_two_regions_sum_path_by_path_to_the_workload() -> None:
    paths = _paths(2, n_paths=30)
    groups, regional = requirement_paths(
        paths, ATTRIBUTES, PERF, PERIODS, by_region=True, utilization_target={"training": 0.8}
    )
    names, overall = requirement_paths(
        paths, ATTRIBUTES, PERF, PERIODS, utilization_target={"training": 0.8}
    )
    assert names["workload"].tolist() == ["inference", "training"]
    assert regional.shape == (3, 30, 2) and overall.shape == (2, 30, 2)
    training = (groups["workload"] == "training").to_numpy()
    np.testing.assert_allclose(regional[training].sum(axis=0), overall[1])
    np.testing.assert_allclose(regional[~training][0], overall[0])
    # Constant paths: the regions' demand is exactly the sum of their series' perf units.
    flat = paths.assign(value=1.0)
    got = requirement(
        flat, ATTRIBUTES, PERF, PERIODS, service_level=0.5, utilization_target=1.0, by_region=True
    )
    demand = got.groupby(["workload", "region"])["demand"].first().to_dict()
    assert demand == pytest.approx(
        {
            ("inference", "eu"): 1.0 + 3.0,  # d on H100, e on B200
            ("training", "eu"): 1.0,  # c on H100
            ("training", "us"): 1.0 + 2.0,  # a on H100, b on B200
        }
    )


def test_the_quantile_of_a_region_is_taken_after_summing_its_series() -> None:
    paths = _paths(3)
    got = requirement(paths, ATTRIBUTES, PERF, PERIODS, service_level=0.95, by_region=True)
    us = got[(got["workload"] == "training") & (got["region"] == "us")]["demand"].to_numpy()
    one = {
        uid: requirement(
            paths[paths["unique_id"] == uid], ATTRIBUTES, PERF, PERIODS, service_level=0.95
        )["demand"].to_numpy()
        for uid in ["a", "b"]
    }
    assert (us < one["a"] + one["b"]).all()  # below the sum of quantiles ...
    both = requirement(  # ... and equal to the quantile of the region's own sum
        paths[paths["unique_id"].isin(["a", "b"])], ATTRIBUTES, PERF, PERIODS, service_level=0.95
    )
    np.testing.assert_allclose(us, both["demand"].to_numpy())


def test_without_by_region_a_history_with_regions_gives_the_workload_requirement() -> None:
    paths = _paths(4, n_paths=20)
    with_regions = requirement(paths, ATTRIBUTES, PERF, PERIODS)
    without = requirement(paths, ATTRIBUTES.drop(columns="region"), PERF, PERIODS)
    assert list(with_regions.columns) == ["workload", "period", "demand"]
    pd.testing.assert_frame_equal(with_regions, without)
    demand, _ = requirement_scenarios(paths, ATTRIBUTES, PERF, PERIODS, n_scenarios=3)
    assert list(demand.columns) == ["workload", "period", "scenario", "demand"]
    plain, _ = requirement_scenarios(
        paths, ATTRIBUTES.drop(columns="region"), PERF, PERIODS, n_scenarios=3
    )
    pd.testing.assert_frame_equal(demand, plain)


def test_scenarios_by_region_are_joint_draws() -> None:
    # The US and Europe move in opposite directions from path to path: a scenario must
    # keep the pair of one path, not the busiest US with the busiest Europe.
    n = 12
    level = np.linspace(10.0, 120.0, n)
    frames = [
        pd.DataFrame(
            {
                "unique_id": uid,
                "ds": np.tile(DAYS, n),
                "path": np.repeat(np.arange(n), len(DAYS)),
                "value": np.repeat(values, len(DAYS)),
            }
        )
        for uid, values in [("a", level), ("c", level[::-1]), ("d", level)]
    ]
    paths = pd.concat(frames, ignore_index=True)
    attributes = ATTRIBUTES[ATTRIBUTES["unique_id"].isin(["a", "c", "d"])]
    demand, scenarios = requirement_scenarios(
        paths, attributes, PERF, PERIODS, n_scenarios=4, utilization_target=1.0, by_region=True
    )
    assert list(demand.columns) == ["workload", "region", "period", "scenario", "demand"]
    assert scenarios["probability"].sum() == pytest.approx(1.0)
    assert len(scenarios) == 4 and len(demand) == 4 * 3 * 2
    groups, per_path = requirement_paths(
        paths, attributes, PERF, PERIODS, utilization_target=1.0, by_region=True
    )
    for name, scenario in demand.groupby("scenario", sort=False):
        path = int(str(name).removeprefix("path"))
        # The whole vector, every workload, region and period, is that one path's.
        np.testing.assert_allclose(scenario["demand"].to_numpy(), per_path[:, path, :].ravel())
        assert scenario[["workload", "region"]].drop_duplicates().to_numpy().tolist() == (
            groups.to_numpy().tolist()
        )
        us = scenario[scenario["region"] == "us"]["demand"].iloc[0]
        eu = scenario[(scenario["region"] == "eu") & (scenario["workload"] == "training")]
        assert us + eu["demand"].iloc[0] == pytest.approx(130.0)  # level + reversed level


def test_by_region_needs_a_region_for_every_series() -> None:
    paths = _paths(5, n_paths=3)
    with pytest.raises(InputError, match="column 'region': needed for demand by region"):
        requirement(paths, ATTRIBUTES.drop(columns="region"), PERF, PERIODS, by_region=True)
    blank = ATTRIBUTES.assign(region=["us", None, "eu", " ", "eu"])
    with pytest.raises(InputError) as error:
        requirement(paths, blank, PERF, PERIODS, by_region=True)
    assert [p.message for p in error.value.problems] == [
        "series 'b' has no region, but demand is wanted by region",
        "series 'd' has no region, but demand is wanted by region",
    ]
    # Summed over regions, missing regions do not matter.
    assert len(requirement(paths, blank, PERF, PERIODS)) == 2 * 2


def test_regions_of_ignores_missing_and_blank_cells() -> None:
    assert regions_of(ATTRIBUTES) == ["eu", "us"]
    assert regions_of(pd.DataFrame({"region": [None, np.nan, "", "  "]})) == []
    assert regions_of(sample_planning_inputs().sites) == ["eu", "us"]
    assert regions_of(_template(None).sites) == []


# The workflow: demand by region iff the history and the sites both have regions.


def _history(n_series: int = 6) -> pd.DataFrame:
    """A few series of the sample history, both regions and both workloads."""
    history = sample_history()
    ids = sorted(history["unique_id"].unique())
    keep = [u for u in ids if "/eu/" in u][: n_series // 2] + [u for u in ids if "/us/" in u][
        : n_series - n_series // 2
    ]
    subset = history[history["unique_id"].isin(keep)].reset_index(drop=True)
    subset.attrs = dict(history.attrs)
    return subset


def _template(regions: dict[str, str] | None = SITE_REGIONS) -> PlanningInputs:
    inputs = sample_planning_inputs()
    sites = inputs.sites.copy()
    sites["region"] = None if regions is None else sites["site"].map(regions)
    return dataclasses.replace(inputs, sites=sites)


def _no_forecasting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make resampling and path sampling fail loudly; returns what was called."""
    called: list[str] = []

    def fail(name: str) -> Callable[..., None]:
        def stage(*args: object, **kwargs: object) -> None:
            called.append(name)
            raise AssertionError(f"{name} ran before the region check")

        return stage

    monkeypatch.setattr("capforecast.workflow.sample_paths", fail("sample_paths"))
    monkeypatch.setattr("capforecast.workflow.resample_history", fail("resample_history"))
    return called


def _constant_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the forecast by paths at 1.0 accelerator per series and step: fast, and the
    requirement is then exactly the perf units of each group over the utilization target."""

    def sample_paths(
        history: pd.DataFrame, horizon: int, *, n_paths: int, freq: str, **kwargs: object
    ) -> pd.DataFrame:
        last = pd.Timestamp(history["ds"].max())
        ds = pd.date_range(last, periods=horizon + 1, freq=freq)[1:]
        uids = sorted(history["unique_id"].unique())
        paths = pd.DataFrame(
            {
                "unique_id": np.repeat(uids, n_paths * len(ds)),
                "ds": np.tile(ds, n_paths * len(uids)),
                "path": np.tile(np.repeat(np.arange(n_paths), len(ds)), len(uids)),
                "value": 1.0,
            }
        )
        paths.attrs["freq"] = freq
        return paths

    monkeypatch.setattr("capforecast.workflow.sample_paths", sample_paths)


def _perf_units(history: pd.DataFrame, by: list[str]) -> dict[tuple[str, ...], float]:
    perf = sample_planning_inputs().perf[["sku", "workload", "factor"]]
    series = history.drop_duplicates("unique_id").merge(perf, on=["sku", "workload"])
    return {
        tuple(k) if isinstance(k, tuple) else (k,): round(v / 0.85, 3)
        for k, v in series.groupby(by)["factor"].sum().items()
    }


def test_forecast_requirement_is_by_region_when_history_and_sites_have_regions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _constant_paths(monkeypatch)
    history = _history()
    template = _template()
    demand, _ = forecast_requirement(history, template, n_paths=3)
    assert list(demand.columns) == ["workload", "region", "period", "demand"]
    periods = [str(p) for p in template.periods]
    assert (
        demand["period"].tolist()
        == periods * demand[["workload", "region"]].drop_duplicates().shape[0]
    )
    got = demand.groupby(["workload", "region"])["demand"].agg(["min", "max"])
    assert (got["min"] == got["max"]).all()
    assert got["min"].to_dict() == _perf_units(history, ["workload", "region"])
    assert set(demand["region"]) == {"eu", "us"}
    demand, scenarios = forecast_requirement(history, template, n_paths=3, n_scenarios=2)
    assert list(demand.columns) == ["workload", "region", "period", "scenario", "demand"]
    assert scenarios is not None and len(scenarios) == 2


def test_forecast_requirement_sums_over_regions_when_sites_have_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _constant_paths(monkeypatch)
    history = _history()
    demand, _ = forecast_requirement(history, _template(None), n_paths=3)
    assert list(demand.columns) == ["workload", "period", "demand"]
    got = demand.groupby("workload")["demand"].first().to_dict()
    assert {(k,): v for k, v in got.items()} == _perf_units(history, ["workload"])


def test_an_unknown_region_is_reported_before_any_forecasting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    called = _no_forecasting(monkeypatch)
    history = _history()
    history.loc[history["unique_id"] == history["unique_id"].iloc[0], "region"] = "apac"
    started = time.perf_counter()
    with pytest.raises(InputError) as error:
        forecast_requirement(history, _template(), n_paths=200)
    assert time.perf_counter() - started < 2.0
    assert called == []
    (problem,) = error.value.problems
    assert (problem.file, problem.column) == ("history", "region")
    assert "region 'apac' (1 series) has no site" in problem.message
    assert "sites in regions 'eu', 'us'" in problem.message


def test_sites_with_regions_need_a_history_with_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    called = _no_forecasting(monkeypatch)
    history = _history().drop(columns="region")
    with pytest.raises(InputError, match="the history has no region") as error:
        forecast_requirement(history, _template())
    assert "'eu', 'us'" in str(error.value)
    blank = _history().assign(region="")
    with pytest.raises(InputError, match="the history has no region"):
        forecast_requirement(blank, _template())
    partial = _history()
    partial.loc[partial["unique_id"] == partial["unique_id"].iloc[-1], "region"] = None
    with pytest.raises(InputError, match=r"1 series have no region \('.*'\)"):
        forecast_requirement(partial, _template())
    assert called == []


def test_demand_by_region_decides_from_both_sides() -> None:
    history = pd.DataFrame({"unique_id": ["a", "b"], "region": ["us", "eu"]})
    sites = pd.DataFrame({"site": ["x", "y", "z"], "region": ["us", "eu", None]})
    assert demand_by_region(history, sites)
    assert not demand_by_region(history, sites.drop(columns="region"))
    assert not demand_by_region(history, sites.assign(region=np.nan))
    with pytest.raises(InputError) as error:
        demand_by_region(history.assign(region=["mars", "venus"]), sites)
    assert [p.message.split(";")[0] for p in error.value.problems] == [
        "region 'mars' (1 series) has no site",
        "region 'venus' (1 series) has no site",
    ]


# End to end through the planning folder: the sample is regional (sites, demand and rent
# by region); a copy without regions is made from it.


def _copy_sample(tmp_path: Path) -> Path:
    target = tmp_path / "planning"
    target.mkdir()
    for path in sample_planning_dir().iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


def _regional_planning_dir(tmp_path: Path) -> Path:
    return _copy_sample(tmp_path)


def _plain_planning_dir(tmp_path: Path) -> Path:
    """The sample without regions: sites, demand, rent and cloud offers lose their region
    (demand and rent summed over regions), eligibility.csv goes, the cluster may go to any
    site."""
    target = _copy_sample(tmp_path)
    for name, keys in (("demand", ["workload", "period"]), ("rent", ["workload", "period"])):
        table = pd.read_csv(target / f"{name}.csv")
        summed = table.groupby(keys, as_index=False, sort=False).agg(
            {c: "sum" if c in ("demand", "max_units") else "first" for c in table.columns
             if c not in (*keys, "region")}
        )  # fmt: skip
        summed.to_csv(target / f"{name}.csv", index=False)
    for name in ("sites", "clusters", "cloud_offers"):
        table = pd.read_csv(target / f"{name}.csv")
        table.drop(columns="region").to_csv(target / f"{name}.csv", index=False)
    (target / "eligibility.csv").unlink()
    return target


def test_quarterly_plan_writes_demand_by_region(tmp_path: Path) -> None:
    history = _history()
    result = quarterly_plan(history, _regional_planning_dir(tmp_path), tmp_path / "out", n_paths=20)
    written = pd.read_csv(result.inputs_dir / "demand.csv")
    assert list(written.columns) == ["workload", "region", "period", "demand"]
    assert set(written["region"]) == {"eu", "us"}
    assert result.inputs.has_regions
    assert result.plan.has_solution


def test_quarterly_plan_reports_an_unknown_region_before_forecasting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    called = _no_forecasting(monkeypatch)
    history = _history().assign(region="apac")
    with pytest.raises(InputError, match=r"region 'apac' \(\d+ series\) has no site"):
        quarterly_plan(history, _regional_planning_dir(tmp_path), tmp_path / "out")
    assert called == [] and not (tmp_path / "out").exists()


def test_quarterly_plan_without_site_regions_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _constant_paths(monkeypatch)
    history = _history()
    result = quarterly_plan(history, _plain_planning_dir(tmp_path), tmp_path / "out", n_paths=3)
    written = pd.read_csv(result.inputs_dir / "demand.csv")
    assert list(written.columns) == ["workload", "period", "demand"]
    assert written.groupby("workload")["demand"].first().to_dict() == {
        k[0]: v for k, v in _perf_units(history, ["workload"]).items()
    }
