"""One conformance kit for every forecaster, plus the panel engine and the forecast CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capforecast import ETS, NotFittedError, SeasonalNaive, forecast, read_history, sample_paths
from capforecast.core.errors import FitError, ParameterError
from capforecast.forecast import Naive, Theta
from capforecast.forecast.auto import Auto
from capforecast.forecast.backtest import cross_validation, evaluate, select_models
from capforecast.forecast.base import Forecaster
from capforecast.forecast.engine import ForecastWarning
from capforecast.forecast.ensemble import Ensemble
from capforecast.forecast.models import MODELS, make_model

# Every registered model, seasonal where it can be, plus non-default specifications.
FORECASTERS = [make_model(name, 7) for name in MODELS] + [ETS(trend=None)]


def _series(n: int = 120, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 50 + 0.3 * t + 8 * (t % 7 < 5) + rng.normal(0, 2, n)


def _dates(n: int = 120) -> pd.DatetimeIndex:
    return pd.date_range("2025-01-06", periods=n, freq="D")


@pytest.mark.parametrize("model", FORECASTERS, ids=repr)
class TestConformance:
    def test_params_round_trip_and_clone(self, model: Forecaster) -> None:
        params = model.get_params()
        clone = model.clone()
        assert clone is not model and clone.get_params() == params
        assert not hasattr(clone, "n_obs_")
        assert type(model)(**params).get_params() == params

    def test_set_params_rejects_unknown(self, model: Forecaster) -> None:
        with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
            model.clone().set_params(nope=1)

    def test_not_fitted(self, model: Forecaster) -> None:
        with pytest.raises(NotFittedError):
            model.clone().predict(3)
        with pytest.raises(NotFittedError):
            model.clone().sample_paths(3, 2, seed=0)

    def test_fit_returns_self_and_does_not_mutate(self, model: Forecaster) -> None:
        y = _series()
        before = y.copy()
        estimator = model.clone()
        assert estimator.fit(y, _dates()) is estimator
        np.testing.assert_array_equal(y, before)

    def test_intervals_nested_and_non_negative(self, model: Forecaster) -> None:
        prediction = model.clone().fit(_series(), _dates()).predict(30, levels=(80, 95))
        lo80, hi80 = prediction.intervals[80]
        lo95, hi95 = prediction.intervals[95]
        assert prediction.mean.shape == (30,)
        assert (lo95 <= lo80 + 1e-9).all() and (lo80 <= prediction.mean + 1e-9).all()
        assert (prediction.mean <= hi80 + 1e-9).all() and (hi80 <= hi95 + 1e-9).all()
        assert (lo95 >= 0).all()

    def test_paths_seeded_and_non_negative(self, model: Forecaster) -> None:
        fitted = model.clone().fit(_series(), _dates())
        first = fitted.sample_paths(20, 50, seed=3)
        assert first.shape == (50, 20)
        np.testing.assert_array_equal(first, fitted.sample_paths(20, 50, seed=3))
        assert not np.array_equal(first, fitted.sample_paths(20, 50, seed=4))
        assert (first >= 0).all()

    def test_paths_agree_with_intervals(self, model: Forecaster) -> None:
        fitted = model.clone().fit(_series(seed=5), _dates())
        prediction = fitted.predict(14, levels=(80,))
        paths = fitted.sample_paths(14, 4000, seed=1)
        lo, hi = prediction.intervals[80]
        inside = ((paths >= lo) & (paths <= hi)).mean()
        assert 0.75 <= inside <= 0.85


def test_seasonal_naive_repeats_the_last_season() -> None:
    y = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 30.0])
    prediction = SeasonalNaive(season_length=3).fit(y).predict(5)
    np.testing.assert_array_equal(prediction.mean, [10, 20, 30, 10, 20])


def test_seasonal_naive_interval_width_grows_with_seasons_ahead() -> None:
    model = SeasonalNaive(season_length=2, intervals="normal")
    prediction = model.fit(_series()).predict(6, levels=(95,))
    lo, hi = prediction.intervals[95]
    width = hi - lo
    assert width[0] == pytest.approx(width[1])
    assert width[2] == pytest.approx(width[0] * np.sqrt(2))
    assert width[4] == pytest.approx(width[0] * np.sqrt(3))


def test_empirical_intervals_are_quantiles_of_past_naive_errors() -> None:
    y = _series(200, seed=3)
    prediction = Naive().fit(y).predict(5, levels=(80,))
    lo, hi = prediction.intervals[80]

    def conformal(errors: np.ndarray) -> float:  # the ceil((n + 1) 0.8)-th smallest
        return float(np.sort(errors)[int(np.ceil((len(errors) + 1) * 0.8)) - 1])

    for h in range(1, 6):
        past = np.abs(y[h:] - y[:-h])  # the h-step error of the naive forecast at every origin
        assert hi[h - 1] - y[-1] == pytest.approx(conformal(past), rel=1e-12)
        assert y[-1] - lo[h - 1] == pytest.approx(conformal(past), rel=1e-12)
    seasonal = SeasonalNaive(season_length=7).fit(y).predict(10, levels=(80,))
    # Step 9 repeats y[-6], two weeks before its target: from an origin t the error is
    # y[t + 9] - y[t - 5], for every origin t >= 6 (a full season) with t + 9 in the data.
    past = np.abs(y[15:] - y[1:-14])
    assert seasonal.intervals[80][1][8] - seasonal.mean[8] == pytest.approx(conformal(past))


def test_empirical_intervals_are_calibrated_on_heavy_tailed_walks() -> None:
    # Usage that jumps on 30% of days by Laplace-distributed amounts: over many series,
    # the empirical intervals cover close to their nominal level.
    rng = np.random.default_rng(7)
    inside: dict[int, list[float]] = {80: [], 95: []}
    for _ in range(100):
        y = 1000 + ((rng.random(300) < 0.3) * rng.laplace(0, 5, 300)).cumsum()
        prediction = Naive().fit(y[:-7]).predict(7, levels=(80, 95))
        for level, (lo, hi) in prediction.intervals.items():
            inside[level].append(np.mean((y[-7:] >= lo) & (y[-7:] <= hi)))
    assert abs(np.mean(inside[80]) - 0.80) < 0.05
    assert abs(np.mean(inside[95]) - 0.95) < 0.03
    with pytest.raises(ValueError, match="'intervals' parameter"):
        Naive(intervals="bootstrap").fit(np.arange(30.0))


def test_levels_are_validated() -> None:
    fitted = SeasonalNaive().fit(_series())
    with pytest.raises(ValueError, match=r"Got \[120\] instead"):
        fitted.predict(3, levels=(120,))


@given(values=st.lists(st.floats(0, 1e4), min_size=10, max_size=60), horizon=st.integers(1, 20))
@settings(max_examples=25, deadline=None)
def test_outputs_never_negative(values: list[float], horizon: int) -> None:
    for model in (make_model(name, 3) for name in MODELS):
        try:
            fitted = model.fit(np.asarray(values), _dates(len(values)))
        except ValueError:
            continue  # a model may refuse a series; the engine falls back then
        prediction = fitted.predict(horizon, levels=(80, 95))
        assert (prediction.mean >= 0).all()
        assert all((lo >= 0).all() and (hi >= lo).all() for lo, hi in prediction.intervals.values())
        assert (fitted.sample_paths(horizon, 5, seed=0) >= 0).all()


class Exploding(Forecaster):
    """A model that always fails, to exercise the engine's fallback."""

    def __init__(self, season_length: int = 1) -> None:
        self.season_length = season_length

    def _fit(self, y: np.ndarray) -> None:
        raise FitError("boom")


def _panel(n_series: int = 3, n: int = 60) -> pd.DataFrame:
    frames = [
        pd.DataFrame(
            {
                "unique_id": f"s{i}",
                "ds": pd.date_range("2026-01-01", periods=n, freq="D"),
                "y": _series(n, seed=i),
            }
        )
        for i in range(n_series)
    ]
    table = pd.concat(frames, ignore_index=True)
    table.attrs["freq"] = "D"
    return table


def test_engine_output_schema_and_dates() -> None:
    table = forecast(_panel(), 10, models=["ets", "seasonal_naive"], levels=[80, 95])
    assert list(table.columns) == [
        "unique_id", "ds", "model", "mean", "lo-80", "hi-80", "lo-95", "hi-95",
    ]  # fmt: skip
    assert len(table) == 3 * 2 * 10
    first = table[(table["unique_id"] == "s0") & (table["model"] == "ETS")]
    assert first["ds"].iloc[0] == pd.Timestamp("2026-03-02")
    assert (first["ds"].diff().dropna() == pd.Timedelta(days=1)).all()


def test_engine_falls_back_per_failing_series() -> None:
    panel = _panel()
    with pytest.warns(ForecastWarning, match="3 fits failed.*'s0' \\(Exploding: boom\\)"):
        table = forecast(panel, 7, models=[Exploding(season_length=7)], levels=[80])
    fallbacks = table.attrs["fallbacks"]
    assert [f.unique_id for f in fallbacks] == ["s0", "s1", "s2"]
    expected = SeasonalNaive(season_length=7).fit(panel.loc[panel["unique_id"] == "s1", "y"])
    got = table.loc[table["unique_id"] == "s1", "mean"].to_numpy()
    np.testing.assert_allclose(got, expected.predict(7).mean)


class Buggy(Forecaster):
    """A model with a bug: a bare ValueError is not a series it cannot fit."""

    def __init__(self, season_length: int = 1) -> None:
        self.season_length = season_length

    def _fit(self, y: np.ndarray) -> None:
        raise ValueError("a bug, not the series")


def test_only_a_fit_error_falls_back_and_numerical_failures_become_one() -> None:
    with pytest.raises(ValueError, match="a bug, not the series") as raised:
        forecast(_panel(), 7, models=[Buggy()], levels=[80])
    assert not isinstance(raised.value, FitError)
    with pytest.raises(FitError, match="needs at least 4 observations"):
        Theta().fit(np.ones(2))

    class Singular(Exploding):
        def _fit(self, y: np.ndarray) -> None:
            np.linalg.inv(np.zeros((2, 2)))

    with pytest.raises(FitError, match="Singular: LinAlgError"):
        Singular().fit(np.ones(5))


def test_every_model_has_one_name_across_results_and_scores() -> None:
    panel = _panel(n_series=2)
    damped = ETS(season_length=7, alias="ets_damped")
    table = forecast(panel, 7, models=[ETS(season_length=7), damped], levels=[80])
    assert sorted(table["model"].unique()) == ["ETS", "ets_damped"]
    scores = evaluate(cross_validation(panel, 7, models=[Naive(), damped], n_windows=1), panel)
    assert set(scores["model"]) == {"Naive", "ets_damped"}
    assert set(select_models(scores)) <= {"Naive", "ets_damped"}
    with pytest.raises(ParameterError, match="Two models of one run are named 'ETS'"):
        forecast(panel, 7, models=[ETS(), ETS(trend=None)])
    with pytest.raises(ParameterError, match="'alias' parameter of Theta"):
        forecast(panel, 7, models=[Theta(alias="")])
    # Ensemble and Auto take instances; their scores carry the members' names.
    members = [Theta(season_length=7), Theta(season_length=7, alias="theta_flat")]
    ensemble = Ensemble(season_length=7, horizon=7, members=members).fit(_series(120, seed=1))
    assert list(ensemble.scores_) == ["Theta", "theta_flat"]
    assert [m.name for m in ensemble.members_] == ["Theta", "theta_flat"]
    with pytest.raises(ParameterError, match=r"must be forecaster instances.*make_model"):
        Ensemble(members=["theta", "auto_ets"]).fit(_series(120, seed=1))  # type: ignore[list-item]
    with pytest.raises(ParameterError, match="names the combination"):
        Auto(candidates=[Naive(), Theta(alias="Ensemble")]).fit(_series(120, seed=1))
    assert repr(damped).endswith("seasonal='add', alias='ets_damped')")
    assert damped.clone().name == "ets_damped"


def test_engine_does_not_mutate_history() -> None:
    panel = _panel()
    before = panel.copy()
    forecast(panel, 5, models=["seasonal_naive"])
    sample_paths(panel, 5, model="seasonal_naive", n_paths=3)
    pd.testing.assert_frame_equal(panel, before)


def test_sample_paths_reproducible() -> None:
    panel = _panel()
    first = sample_paths(panel, 8, n_paths=20, seed=11)
    second = sample_paths(panel, 8, n_paths=20, seed=11)
    pd.testing.assert_frame_equal(first, second)
    assert list(first.columns) == ["unique_id", "ds", "path", "value"]
    assert first.groupby("unique_id", observed=True).size().eq(8 * 20).all()


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="Unknown model 'arima2'"):
        forecast(_panel(), 5, models=["arima2"])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_forecast_cli_writes_the_contract(
    suffix: str, tmp_path: Path, cli: Callable[..., object]
) -> None:
    history = tmp_path / f"history{suffix}"
    panel = _panel()
    if suffix == ".csv":
        panel.to_csv(history, index=False)
    else:
        panel.to_parquet(history, index=False)
    out = tmp_path / f"forecast{suffix}"
    result = cli(
        "forecast", history, "--horizon", 12, "--model", "seasonal_naive", "--model", "ets",
        "--level", 80, "--level", 95, "--out", out,
    )  # fmt: skip
    assert result.code == 0, result.stderr  # type: ignore[attr-defined]
    table = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(table.columns[:4]) == ["unique_id", "ds", "model", "mean"]
    assert {"lo-80", "hi-80", "lo-95", "hi-95"} <= set(table.columns)
    assert len(table) == 3 * 2 * 12
    assert (table[["mean", "lo-80", "lo-95"]] >= 0).all().all()


def test_forecast_cli_is_byte_for_byte_reproducible(
    tmp_path: Path, cli: Callable[..., object]
) -> None:
    history = tmp_path / "history.csv"
    _panel().to_csv(history, index=False)
    outputs = []
    for run in range(2):
        out = tmp_path / f"run{run}.csv"
        assert cli("forecast", history, "--horizon", 9, "--out", out).code == 0  # type: ignore[attr-defined]
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_forecast_cli_rejects_bad_parameters(tmp_path: Path, cli: Callable[..., object]) -> None:
    history = tmp_path / "history.csv"
    _panel().to_csv(history, index=False)
    result = cli("forecast", history, "--horizon", 0, "--out", tmp_path / "f.csv")
    assert result.code == 2 and "horizon" in result.stderr  # type: ignore[attr-defined]
    result = cli("forecast", history, "--horizon", 3, "--level", 120, "--out", tmp_path / "f.csv")
    assert result.code == 2 and "(0, 100)" in result.stderr  # type: ignore[attr-defined]
    result = cli("forecast", history, "--horizon", 200_000, "--out", tmp_path / "f.csv")
    assert result.code == 2 and "over the limit of 10000" in result.stderr  # type: ignore[attr-defined]
    far = tmp_path / "far.csv"  # a horizon within the limit that runs past year 2262
    _panel().assign(ds=lambda t: t["ds"] + pd.DateOffset(years=235)).to_csv(far, index=False)
    result = cli("forecast", far, "--horizon", 9_000, "--out", tmp_path / "f.csv")
    assert result.code == 2 and "shorter horizon" in result.stderr  # type: ignore[attr-defined]
    result = cli(
        "backtest", history, "--horizon", 3, "--metric", "bias", "--out", tmp_path / "b.csv"
    )
    assert result.code == 2 and "Cannot select by 'bias'" in result.stderr  # type: ignore[attr-defined]


def test_sample_history_reads_with_its_attributes() -> None:
    from capforecast.examples import helios_history_path, sample_history_path

    history = read_history(sample_history_path())
    assert history["unique_id"].nunique() >= 40
    assert {"org", "team", "workload", "sku", "region"} <= set(history.columns)
    assert (history.groupby("unique_id")["ds"].agg(lambda d: d.max() - d.min()).min()).days >= 729
    helios = read_history(helios_history_path())
    assert helios["unique_id"].nunique() == 25 and helios.attrs["freq"] == "D"


def test_backtest_cli_writes_metrics_and_the_choice(
    tmp_path: Path, cli: Callable[..., object]
) -> None:
    history = tmp_path / "history.csv"
    _panel().to_csv(history, index=False)
    out = tmp_path / "scores.csv"
    result = cli(
        "backtest", history, "--horizon", 7, "--windows", 2, "--model", "naive",
        "--model", "drift", "--out", out,
    )  # fmt: skip
    assert result.code == 0, result.stderr  # type: ignore[attr-defined]
    scores = pd.read_csv(out)
    wanted = {"mase", "smape", "coverage-80", "width-95", "winkler-80", "msis-95", "selected"}
    assert wanted <= set(scores.columns)
    assert len(scores) == 3 * 2
    drift = scores[scores["model"] == "Drift"]
    line = f"Drift: coverage-80 {drift['coverage-80'].mean():.1%}"
    assert line in result.stdout, result.stdout  # type: ignore[attr-defined]
    assert scores.groupby("unique_id")["selected"].sum().eq(1).all()
    best = scores.loc[scores.groupby("unique_id")["mase"].idxmin(), "model"]
    assert list(best) == list(scores[scores["selected"]]["model"])


def test_forecast_cli_writes_paths(tmp_path: Path, cli: Callable[..., object]) -> None:
    history = tmp_path / "history.csv"
    _panel().to_csv(history, index=False)
    out = tmp_path / "forecast.csv"
    result = cli("forecast", history, "--horizon", 5, "--paths", 4, "--out", out)
    assert result.code == 0, result.stderr  # type: ignore[attr-defined]
    paths = pd.read_csv(tmp_path / "forecast.paths.csv")
    assert list(paths.columns) == ["unique_id", "ds", "path", "value"]
    assert len(paths) == 3 * 5 * 4


def test_theta_agrees_with_statsmodels() -> None:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    for seed in range(5):
        y = _series(150, seed=seed)
        ours = Theta().fit(y).predict(10).mean
        theirs = ThetaModel(y, period=1, deseasonalize=False).fit().forecast(10).to_numpy()
        np.testing.assert_allclose(ours, theirs, rtol=5e-3)


def test_auto_calibration_scales_intervals_by_conformal_quantiles() -> None:
    from capforecast.forecast.auto import Auto

    y = _series(200, seed=9)
    native = Auto(horizon=10, n_windows=3).fit(y)
    calibrated = Auto(horizon=10, n_windows=3, calibrate=True).fit(y)
    assert native.calibration_ is None and calibrated.calibration_ is not None
    scores = calibrated.calibration_.scores
    assert len(scores) == 30  # 3 windows x 10 steps
    assert calibrated.chosen_.name == native.chosen_.name
    lo, hi = native.chosen_._predict(10, (80,)).intervals[80]
    spread = (hi - lo) / (2 * 1.2815515655446004)
    # Split conformal: the ceil((n+1)·0.8)-th = 25th smallest of 30 scores.
    low, high = calibrated.predict(10, levels=(80,)).intervals[80]
    np.testing.assert_allclose(high - low, 2 * scores[24] * spread, rtol=1e-9)
    # 95% needs the 30th (= largest) score; 99% would need a 31st: native interval kept.
    _, high = calibrated.predict(10, levels=(99,)).intervals[99]
    _, native_high = native.chosen_.predict(10, levels=(99,)).intervals[99]
    np.testing.assert_allclose(high, native_high, rtol=1e-9)


def test_naive_intervals_follow_the_random_walk_formula() -> None:
    # sigma is the root mean square of the differences (not demeaned): a trend widens it.
    y = np.array([1.0, 2.0, 3.0, 4.0])
    prediction = Naive().fit(y).predict(3, levels=(80,))
    _, hi = prediction.intervals[80]
    np.testing.assert_allclose(hi - 4.0, 1.2815515655446004 * 1.0 * np.sqrt([1, 2, 3]))


def test_auto_keeps_the_naive_forecast_unless_clearly_beaten() -> None:
    from capforecast.forecast.auto import Auto

    # A random walk: richer models may edge out naive in a backtest, but not by 100%.
    y = 100 + np.random.default_rng(1).normal(0, 1, 150).cumsum()
    strict = Auto(horizon=7, margin=1.0).fit(y)  # nothing can beat naive by 100%
    assert strict.chosen_.name in ("Naive", "SeasonalNaive")
    lenient = Auto(horizon=7, margin=0.0).fit(y)
    options = {n: s for n, s in lenient.scores_.items() if n in ("Naive", "Ensemble")}
    assert lenient.chosen_.name == min(options, key=options.__getitem__)
    single = Auto(horizon=7, margin=0.0, ensemble=False).fit(y)
    assert "Ensemble" not in single.scores_
    simple = ("Naive", "SeasonalNaive")
    options = {n: s for n, s in single.scores_.items() if n not in simple or n == single.benchmark_}
    assert single.chosen_.name == min(options, key=options.__getitem__)


def test_ets_advance_refits_only_when_the_new_errors_reject_the_parameters() -> None:
    rng = np.random.default_rng(3)
    y = 100 + 0.5 * np.arange(300) + rng.normal(0, 2, 300)
    fitted = ETS(trend="add", damped_trend=False).fit(y[:250])
    # More of the same: re-filtered, the parameters kept.
    steady = fitted.advance(y[:280])
    np.testing.assert_array_equal(steady.fit_["par"], fitted.fit_["par"])
    np.testing.assert_allclose(
        steady.predict(5).mean, fitted.update(y[:280]).predict(5).mean, rtol=1e-12
    )
    # A level shift of 30 noise deviations: the new errors reject them; refitted.
    shifted = y.copy()
    shifted[260:] += 60.0
    moved = fitted.advance(shifted[:280])
    np.testing.assert_allclose(
        moved.predict(5).mean, fitted.clone().fit(shifted[:280]).predict(5).mean, rtol=1e-12
    )
    assert not np.array_equal(moved.fit_["par"], fitted.fit_["par"])


def test_backtests_keep_the_specification_chosen_on_the_whole_series() -> None:
    from capforecast.forecast.ets import AutoETS
    from capforecast.forecast.selection import origins, rolling_predictions

    y = 50 + 3 * np.arange(200) + np.random.default_rng(4).normal(0, 5, 200)
    auto_ets = AutoETS().fit(y)
    starts = origins(len(y), 10, 3)
    found = rolling_predictions(auto_ets, y, None, starts, 10)
    assert found is not None
    spec = auto_ets.chosen_.clone().fit(y[: starts[0]])
    expected = [spec.predict(10).mean]
    for origin in starts[1:]:
        spec = spec.advance(y[:origin])
        expected.append(spec.predict(10).mean)
    for got, want in zip(found, expected, strict=True):
        np.testing.assert_allclose(got.mean, want, rtol=1e-12)


@settings(max_examples=12, deadline=None)
@given(
    slope=st.floats(-1.0, 3.0),
    curve=st.floats(0.0, 40.0),
    noise=st.floats(0.5, 8.0),
    seed=st.integers(0, 2**16),
)
def test_auto_takes_autoets_exactly_when_it_finds_a_persistent_trend(
    slope: float, curve: float, noise: float, seed: int
) -> None:
    from capforecast.forecast.ets import AutoETS

    t = np.arange(120, dtype=float)
    y = 200 + slope * t + curve * np.log1p(t) + np.random.default_rng(seed).normal(0, noise, 120)
    model = Auto(horizon=8).fit(y)
    chosen = AutoETS().fit(y).chosen_
    persistent = chosen.trend is not None and not chosen.damped_trend
    assert {"Theta", "AutoETS"} <= set(model.scores_)
    assert ("Ensemble" in model.scores_) == (not persistent)
    if persistent:
        assert model.chosen_.name == "AutoETS"
    else:
        assert model.chosen_.name in ("Naive", "SeasonalNaive", "Ensemble")


def test_auto_picks_its_naive_benchmark_on_the_whole_history() -> None:
    from capforecast.forecast.auto import Auto

    # Hourly load, a random walk, with one outage across the last backtest origin. From
    # inside the outage the naive forecast repeats 0 for a day while the seasonal naive one
    # repeats the normal day before it, so the two backtest windows favour seasonal naive;
    # over every origin of the history the naive forecast is far better.
    y = 300 + np.random.default_rng(5).normal(0, 3, 600).cumsum()
    y[-30:-20] = 0.0
    model = Auto(season_length=24, horizon=24).fit(y)
    assert model.scores_["SeasonalNaive"] < model.scores_["Naive"]
    assert model.benchmark_ == "Naive"
    assert model.chosen_.name != "SeasonalNaive"


def test_ensemble_weights_members_by_inverse_backtest_mase() -> None:
    from capforecast.forecast import Ensemble
    from capforecast.forecast.selection import backtest_mase, origins, rolling_predictions

    y = _series(160, seed=4)
    model = Ensemble(season_length=7, horizon=14, n_windows=3).fit(y)
    starts = origins(len(y), 14, 3)
    expected = []
    for name in ("theta", "auto_ets"):
        found = rolling_predictions(make_model(name, 7).fit(y), y, None, starts, 14)
        assert found is not None
        expected.append(1 / backtest_mase(y, starts, found))
    np.testing.assert_allclose(model.weights_, np.array(expected) / sum(expected), rtol=1e-12)
    members = [m.predict(10, levels=(80,)) for m in model.members_]
    combined = model.predict(10, levels=(80,))
    mean = sum(w * p.mean for w, p in zip(model.weights_, members, strict=True))
    np.testing.assert_allclose(combined.mean, mean, rtol=1e-12)
    # Quantile averaging: the interval is as wide as the weighted mean of the members'.
    widths = [p.intervals[80][1] - p.intervals[80][0] for p in members]
    np.testing.assert_allclose(
        combined.intervals[80][1] - combined.intervals[80][0],
        sum(w * width for w, width in zip(model.weights_, widths, strict=True)),
        rtol=1e-9,
    )


def test_ensemble_beats_its_members_on_average() -> None:
    # Two members with errors of opposite sign: the combination is more accurate than
    # either on most series (the reason ensembles win forecasting competitions).
    from capforecast.forecast import Ensemble

    wins = 0
    for seed in range(10):
        y = _series(200, seed=seed)[:-14]
        actual = _series(200, seed=seed)[-14:]
        model = Ensemble(season_length=7, horizon=14).fit(y)
        error = np.abs(model.predict(14).mean - actual).mean()
        member_errors = [np.abs(m.predict(14).mean - actual).mean() for m in model.members_]
        wins += error <= max(member_errors)
    assert wins == 10


def test_paths_of_a_series_do_not_depend_on_the_other_series() -> None:
    panel = _panel()
    alone = sample_paths(panel[panel["unique_id"] == "s2"], 6, model="naive", n_paths=5, seed=3)
    independent = sample_paths(panel, 6, model="naive", n_paths=5, seed=3, dependence="independent")
    np.testing.assert_array_equal(
        independent.loc[independent["unique_id"] == "s2", "value"].to_numpy(),
        alone["value"].to_numpy(),
    )
    # Paired by history: the same paths, each intact, possibly at other indices.
    paired = sample_paths(panel, 6, model="naive", n_paths=5, seed=3)
    rows = paired.loc[paired["unique_id"] == "s2", "value"].to_numpy().reshape(5, 6)
    expected = alone["value"].to_numpy().reshape(5, 6)
    assert sorted(map(tuple, rows)) == sorted(map(tuple, expected))


def _co_moving_panel(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Two series driven by one common random walk, and one unrelated series."""
    rng = np.random.default_rng(seed)
    common = rng.normal(0, 1, n).cumsum()
    values = {
        "a": 200 + 5 * common + rng.normal(0, 1, n),
        "b": 300 + 3 * common + rng.normal(0, 1, n),
        "c": 250 + 5 * rng.normal(0, 1, n).cumsum(),
    }
    ds = pd.date_range("2025-01-06", periods=n, freq="D")
    return pd.DataFrame(
        [(uid, d, v) for uid, series in values.items() for d, v in zip(ds, series, strict=True)],
        columns=["unique_id", "ds", "y"],
    )


def _path_levels(paths: pd.DataFrame, uid: str) -> np.ndarray:
    rows = paths[paths["unique_id"] == uid]
    return rows.groupby("path")["value"].mean().to_numpy()


def test_paths_keep_the_cross_series_dependence_of_the_history() -> None:
    panel = _co_moving_panel()
    paired = sample_paths(panel, 14, model="naive", n_paths=400, seed=2, freq="D")
    alone = sample_paths(
        panel, 14, model="naive", n_paths=400, seed=2, freq="D", dependence="independent"
    )
    a, b, c = (_path_levels(paired, uid) for uid in "abc")
    assert np.corrcoef(a, b)[0, 1] > 0.7  # the history co-moved
    assert abs(np.corrcoef(a, c)[0, 1]) < 0.2  # unrelated series stay unrelated
    ia, ib = (_path_levels(alone, uid) for uid in "ab")
    assert abs(np.corrcoef(ia, ib)[0, 1]) < 0.2
    # Each series keeps its own distribution: only the pairing differs.
    for uid in "abc":
        np.testing.assert_array_equal(
            np.sort(paired.loc[paired["unique_id"] == uid, "value"].to_numpy()),
            np.sort(alone.loc[alone["unique_id"] == uid, "value"].to_numpy()),
        )
    # The joint upper tail is what the requirement step sees: it is wider when paired.
    assert np.quantile(a + b, 0.9) > np.quantile(ia + ib, 0.9)
    again = sample_paths(panel, 14, model="naive", n_paths=400, seed=2, freq="D")
    pd.testing.assert_frame_equal(paired, again)


def test_dependence_is_validated() -> None:
    with pytest.raises(ValueError, match="'dependence' parameter"):
        sample_paths(_panel(), 3, model="naive", dependence="copula")


def test_ets_refuses_too_few_points_and_the_engine_falls_back() -> None:
    with pytest.raises(ValueError, match="at least 10 observations"):
        ETS().fit(np.arange(6.0))
    panel = _panel(n=6)
    with pytest.warns(ForecastWarning, match="fits failed"):
        table = forecast(panel, 3, models=["ets"], season_length=1)
    assert np.isfinite(table["mean"]).all()


@settings(max_examples=60, deadline=None)
@given(
    freq=st.sampled_from(["D", "h", "W-SUN", "W-MON", "MS", "QS"]),
    length=st.integers(2, 40),
    shift=st.integers(0, 3),
    dropped=st.sets(st.integers(1, 38), max_size=5),
)
def test_fill_gaps_puts_every_series_on_its_grid(
    freq: str, length: int, shift: int, dropped: set[int]
) -> None:
    from capforecast.core.errors import InputError
    from capforecast.core.history import fill_gaps

    start = pd.Timestamp("2026-01-01") + pd.Timedelta(days=shift)
    grid = pd.date_range(start, periods=length, freq=freq)
    kept = [i for i in range(length) if i not in dropped or i == length - 1]
    table = pd.DataFrame({"unique_id": "a", "ds": grid[kept], "y": 1.0})
    if grid[0] != start:  # the grid rolled forward: the series starts off it
        table.loc[0, "ds"] = start
        with pytest.raises(InputError, match="off the"):
            fill_gaps(table, freq, "zero")
        return
    filled, gapped = fill_gaps(table, freq, "zero")
    assert filled["ds"].tolist() == list(grid)
    assert gapped == (["a"] if len(kept) < length else [])
    assert filled["y"].sum() == len(kept)
