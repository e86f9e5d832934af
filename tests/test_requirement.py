"""Requirement: aggregate paths first, then take quantiles (never add quantiles)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capforecast import InputError, requirement, requirement_scenarios
from capforecast.core.errors import ParameterError
from capforecast.requirement import DEFAULT_UTILIZATION_TARGET
from capforecast.requirement.reduction import forward_selection

PERIODS = pd.period_range("2027Q1", periods=2, freq="Q")
DAYS = pd.date_range(PERIODS[0].start_time, PERIODS[-1].end_time.normalize(), freq="D")
ATTRIBUTES = pd.DataFrame(
    {
        "unique_id": ["a", "b", "c"],
        "workload": ["training", "training", "inference"],
        "sku": ["H100", "B200", "H100"],
    }
)
PERF = pd.DataFrame(
    {
        "sku": ["H100", "B200", "H100", "B200"],
        "workload": ["training", "training", "inference", "inference"],
        "factor": [1.0, 2.0, 1.0, 3.0],
    }
)


def gamma_paths(seed: int, n_paths: int, uids: list[str]) -> pd.DataFrame:
    """Daily sample paths over ``DAYS`` for ``uids``, each value Gamma(4, 25)."""
    rng = np.random.default_rng(seed)
    frames = []
    for uid in uids:
        values = rng.gamma(4.0, 25.0, size=(n_paths, len(DAYS)))
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": np.tile(DAYS, n_paths),
                    "path": np.repeat(np.arange(n_paths), len(DAYS)),
                    "value": values.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _paths(seed: int, n_paths: int = 50) -> pd.DataFrame:
    return gamma_paths(seed, n_paths, list(ATTRIBUTES["unique_id"]))


def _by_pandas(paths: pd.DataFrame, level: float, stat: str) -> pd.Series:
    """The definition, written plainly with pandas group-bys."""
    table = paths.merge(ATTRIBUTES, on="unique_id").merge(PERF, on=["sku", "workload"])
    table["ref"] = table["value"] * table["factor"]
    daily = table.groupby(["workload", "ds", "path"])["ref"].sum().reset_index()
    daily["period"] = daily["ds"].dt.to_period("Q")
    reduced = daily.groupby(["workload", "period", "path"])["ref"]
    per_path = reduced.quantile(0.95) if stat == "p95" else reduced.agg(stat)
    return per_path.groupby(level=["workload", "period"]).quantile(level)


@pytest.mark.parametrize("stat", ["mean", "max", "p95"])
def test_matches_the_definition(stat: str) -> None:
    paths = _paths(1)
    got = requirement(
        paths,
        ATTRIBUTES,
        PERF,
        PERIODS,
        service_level=0.9,
        period_stat=stat,  # type: ignore[arg-type]
        utilization_target=1.0,
    )
    expected = _by_pandas(paths, 0.9, stat)
    np.testing.assert_allclose(
        got.set_index(["workload", "period"])["demand"].sort_index().to_numpy(),
        expected.sort_index().to_numpy(),
    )


def test_aggregate_quantile_is_below_the_sum_of_quantiles() -> None:
    paths = _paths(2)
    got = requirement(paths, ATTRIBUTES, PERF, PERIODS, service_level=0.95)
    training = got[got["workload"] == "training"]["demand"].to_numpy()
    naive = sum(
        requirement(
            paths[paths["unique_id"] == uid],
            ATTRIBUTES,
            PERF,
            PERIODS,
            service_level=0.95,
        )["demand"].to_numpy()
        for uid in ["a", "b"]
    )
    assert (training < naive).all()


@given(
    seed=st.integers(0, 1000),
    low=st.floats(0.05, 0.5),
    high=st.floats(0.5, 0.99),
    scale=st.floats(0.1, 10),
    target=st.floats(0.5, 1.0),
)
@settings(max_examples=25, deadline=None)
def test_properties(seed: int, low: float, high: float, scale: float, target: float) -> None:
    paths = _paths(seed, n_paths=20)
    base = requirement(paths, ATTRIBUTES, PERF, PERIODS, service_level=low, utilization_target=1.0)[
        "demand"
    ]
    upper = requirement(
        paths, ATTRIBUTES, PERF, PERIODS, service_level=high, utilization_target=1.0
    )["demand"]
    assert (upper >= base - 1e-9).all()  # monotone in the service level
    scaled = requirement(
        paths.assign(value=paths["value"] * scale),
        ATTRIBUTES,
        PERF,
        PERIODS,
        service_level=high,
        utilization_target=1.0,
    )["demand"]
    np.testing.assert_allclose(scaled, upper * scale, rtol=1e-9)
    default = requirement(paths, ATTRIBUTES, PERF, PERIODS, service_level=high)["demand"]
    np.testing.assert_allclose(default, upper / DEFAULT_UTILIZATION_TARGET, rtol=1e-9)
    relaxed = requirement(
        paths, ATTRIBUTES, PERF, PERIODS, service_level=high, utilization_target=target
    )["demand"]
    np.testing.assert_allclose(relaxed, upper / target, rtol=1e-9)


def test_missing_perf_pair_is_an_input_error() -> None:
    perf = PERF[~((PERF["sku"] == "B200") & (PERF["workload"] == "training"))]
    with pytest.raises(InputError, match="no factor for that pair"):
        requirement(_paths(0, 3), ATTRIBUTES, perf, PERIODS)


def test_uncovered_period_is_an_error() -> None:
    with pytest.raises(ValueError, match="do not cover the periods"):
        requirement(_paths(0, 3), ATTRIBUTES, PERF, pd.period_range("2027Q1", periods=3, freq="Q"))


def test_scenarios_are_paths_with_the_probability_of_their_nearest_paths() -> None:
    paths = _paths(3, n_paths=10)
    demand, scenarios = requirement_scenarios(paths, ATTRIBUTES, PERF, PERIODS, n_scenarios=4)
    assert scenarios["probability"].sum() == pytest.approx(1.0)
    assert len(scenarios) == 4 and len(demand) == 4 * 2 * 2
    singles = {
        f"path{p}": requirement(
            paths[paths["path"] == p], ATTRIBUTES, PERF, PERIODS, service_level=0.5
        )
        .sort_values(["workload", "period"])["demand"]
        .to_numpy()
        for p in range(10)
    }
    kept = {}
    for name, scenario in demand.groupby("scenario"):
        kept[name] = scenario.sort_values(["workload", "period"])["demand"].to_numpy()
        np.testing.assert_allclose(kept[name], singles[str(name)])
    # Every path hands its 1/10 to the kept scenario nearest to it.
    share = dict.fromkeys(kept, 0.0)
    for vector in singles.values():
        nearest = min(kept, key=lambda n: (np.linalg.norm(vector - kept[n]), n))
        share[nearest] += 0.1
    assert scenarios.set_index("scenario")["probability"].to_dict() == pytest.approx(share)
    # Keeping every path keeps each with its own probability.
    _, every = requirement_scenarios(paths, ATTRIBUTES, PERF, PERIODS, n_scenarios=10)
    assert every["probability"].tolist() == pytest.approx([0.1] * 10)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 30).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(0, 1000), min_size=3 * n, max_size=3 * n), st.integers(1, n)
        )
    )
)
def test_forward_selection_spreads_all_probability_and_improves_with_more_scenarios(
    case: tuple[list[float], int],
) -> None:
    values, keep = case
    points = np.array(values).reshape(-1, 3)
    kept, probability = forward_selection(points, keep)
    assert len(set(kept.tolist())) == keep
    assert probability.sum() == pytest.approx(1.0) and (probability > 0).all()

    def transport(k: int) -> float:  # mean distance of every path to its nearest kept path
        chosen, _ = forward_selection(points, k)
        return float(np.mean(np.min(np.linalg.norm(points[:, None] - points[chosen], axis=2), 1)))

    assert transport(keep) <= transport(max(1, keep - 1)) + 1e-9
    assert transport(len(points)) == 0.0


def test_series_of_different_lengths_must_each_cover_the_periods() -> None:
    paths = _paths(4, n_paths=5)
    short = paths[~((paths["unique_id"] == "b") & (paths["ds"] < PERIODS[1].start_time))]
    with pytest.raises(ValueError, match=r"paths of 1 series do not cover.*'b'"):
        requirement(short, ATTRIBUTES, PERF, PERIODS)
    assert len(requirement(short, ATTRIBUTES, PERF, PERIODS[1:])) == 2


def test_missing_or_negative_values_are_an_input_error() -> None:
    paths = _paths(5, n_paths=3)
    paths.loc[7, "value"] = np.nan
    with pytest.raises(InputError, match="1 values are missing"):
        requirement(paths, ATTRIBUTES, PERF, PERIODS)


def test_weekly_steps_are_spread_over_the_periods_they_straddle() -> None:
    # One series, constant 10 until 2027-03-28 and 20 from then on, in weeks from Monday.
    weeks = pd.date_range("2026-12-28", "2027-07-05", freq="W-MON")
    values = np.where(weeks < pd.Timestamp("2027-03-29"), 10.0, 20.0)
    paths = pd.DataFrame({"unique_id": "a", "ds": weeks, "path": 0, "value": values})
    paths.attrs["freq"] = "W-MON"
    got = requirement(paths, ATTRIBUTES, PERF, PERIODS, service_level=0.5, utilization_target=1.0)
    # Days of 2027Q1 at 20: 29-31 March (3 of 90); 2027Q2 entirely at 20.
    expected_q1 = (87 * 10 + 3 * 20) / 90
    assert got["demand"].tolist() == pytest.approx([expected_q1, 20.0])
    peak = requirement(
        paths,
        ATTRIBUTES,
        PERF,
        PERIODS,
        service_level=0.5,
        period_stat="max",
        utilization_target=1.0,
    )
    assert peak["demand"].tolist() == pytest.approx([20.0, 20.0])


def test_each_workload_is_reduced_by_its_statistic_from_the_history() -> None:
    """A history from telemetry names each workload's statistic: inference's p95 of the
    days of a quarter, training's mean; a map of ``period_stat`` overrides it, and a
    statistic that is not one is a clear error."""
    paths = _paths(3)
    attributes = ATTRIBUTES.assign(statistic=["mean", "mean", "p95"])
    got = requirement(paths, attributes, PERF, PERIODS, utilization_target=1.0)
    demand = got.set_index(["workload", "period"])["demand"]
    for workload, stat in (("training", "mean"), ("inference", "p95")):
        expected = _by_pandas(paths, 0.9, stat).loc[workload]
        np.testing.assert_allclose(demand.loc[workload].to_numpy(), expected.to_numpy())
    # The mean of the same paths is lower than their 95th percentile day.
    plain = requirement(paths, ATTRIBUTES, PERF, PERIODS, utilization_target=1.0)
    assert (plain.set_index(["workload", "period"])["demand"].loc["inference"]
            < demand.loc["inference"]).all()  # fmt: skip
    overridden = requirement(
        paths, attributes, PERF, PERIODS, utilization_target=1.0, period_stat={"inference": "max"}
    )
    expected = _by_pandas(paths, 0.9, "max").loc["inference"].to_numpy()
    np.testing.assert_allclose(
        overridden.set_index(["workload", "period"])["demand"].loc["inference"], expected
    )
    with pytest.raises(ParameterError, match="'mean', 'max' or a percentile"):
        requirement(paths, ATTRIBUTES, PERF, PERIODS, period_stat="peak")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_mean_p95_and_max_are_ordered(seed: int) -> None:
    paths = _paths(seed, n_paths=5)
    reduced = {
        stat: requirement(paths, ATTRIBUTES, PERF, PERIODS, period_stat=stat)["demand"]
        for stat in ("mean", "p95", "max")
    }
    assert (reduced["mean"] <= reduced["p95"] + 1e-9).all()
    assert (reduced["p95"] <= reduced["max"] + 1e-9).all()


def test_timestamps_in_any_unit_give_the_same_requirement() -> None:
    """A history read by DuckDB has microsecond timestamps: the steps are the same days."""
    paths = _paths(5, n_paths=3)
    micro = paths.assign(ds=paths["ds"].astype("datetime64[us]"))
    got = requirement(micro, ATTRIBUTES, PERF, PERIODS, service_level=0.5)
    expected = requirement(paths, ATTRIBUTES, PERF, PERIODS, service_level=0.5)
    pd.testing.assert_frame_equal(got, expected)
