"""ARIMA and AutoARIMA: order selection, agreement with statsmodels and statsforecast."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pytest

from capforecast.core.errors import ParameterError
from capforecast.forecast import arima
from capforecast.forecast.arima import ARIMA, AutoARIMA, Spec


def _arma(n: int, ar: float = 0.0, ma: float = 0.0, seed: int = 0, mean: float = 50.0):
    """``mean + x`` with ``x_t = ar x_{t-1} + e_t + ma e_{t-1}``, ``e ~ N(0, 1)``."""
    rng = np.random.default_rng(seed)
    e = rng.normal(size=n + 100)
    x = np.zeros(n + 100)
    for t in range(1, n + 100):
        x[t] = ar * x[t - 1] + e[t] + ma * e[t - 1]
    return mean + x[100:]


def _sarima(n: int = 240, seed: int = 0) -> np.ndarray:
    """ARIMA(1,0,0)(0,1,1)[12] with drift: φ = 0.5, Θ = -0.5, seasonal drift 0.3."""
    s = 12
    rng = np.random.default_rng(seed)
    e = rng.normal(size=n + 100)
    u = e[s:] - 0.5 * e[:-s]
    x = np.zeros(len(u))
    for t in range(1, len(u)):
        x[t] = 0.5 * x[t - 1] + u[t]
    y = np.zeros(len(u))
    y[:s] = 500 + 5 * np.sin(2 * np.pi * np.arange(s) / s)
    for t in range(s, len(u)):
        y[t] = y[t - s] + 0.3 + x[t]
    return y[-n:]


def _seasonal(n: int, m: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 10 * np.sin(2 * np.pi * t / m) + 5 * np.cos(4 * np.pi * t / m) + rng.normal(size=n)


# --- order selection ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ar", "ma", "expected"),
    [(0.7, 0.0, (1, 0, 0)), (0.0, 0.6, (0, 0, 1)), (0.0, 0.0, (0, 0, 0))],
    ids=["AR(1)", "MA(1)", "white noise"],
)
def test_recovers_the_order_of_simulated_arma(ar: float, ma: float, expected: tuple) -> None:
    """Over 10 seeds (n = 300) the true order is the most frequent choice and is found at
    least 6 times (statsforecast's AutoARIMA scores 7, 8 and 4 of 10 on these series), and
    KPSS wrongly differences at most twice."""
    chosen = Counter(AutoARIMA().fit(_arma(300, ar, ma, seed)).order_ for seed in range(10))
    assert chosen.most_common(1)[0][0] == expected
    assert chosen[expected] >= 6, chosen
    assert sum(n for order, n in chosen.items() if order[1] > 0) <= 2, chosen


def test_random_walk_is_differenced_once() -> None:
    for seed in range(5):
        rng = np.random.default_rng(seed)
        model = AutoARIMA().fit(100 + np.cumsum(rng.normal(size=300)))
        assert model.order_[1] == 1


@pytest.mark.parametrize("m", [7, 12])
def test_strong_seasonality_is_seasonally_differenced(m: int) -> None:
    for seed in range(3):
        model = AutoARIMA(season_length=m).fit(_seasonal(144, m, seed))
        assert model.seasonal_order_[1] == 1
        assert model.order_[1] == 0
    flat = AutoARIMA(season_length=m).fit(_arma(144, 0.5, seed=1))
    assert flat.seasonal_order_ == (0, 0, 0)


def test_long_seasons_keep_the_difference_without_seasonal_arma() -> None:
    model = AutoARIMA(season_length=52).fit(_seasonal(260, 52, 0))
    assert model.seasonal_order_ == (0, 1, 0)
    assert model.chosen_.spec_.s == 52


def test_exhaustive_search_is_at_least_as_good_as_stepwise() -> None:
    y = _arma(120, 0.5, 0.4, seed=2)
    limits = {"max_p": 2, "max_q": 2, "approximation": False}
    stepwise = AutoARIMA(**limits).fit(y)
    grid = AutoARIMA(stepwise=False, **limits).fit(y)
    assert grid.n_models_ == 18  # 9 orders, with and without the mean
    assert grid.aicc_ <= stepwise.aicc_ + 1e-9
    assert stepwise.n_models_ < grid.n_models_


def test_nmodels_caps_the_stepwise_search() -> None:
    y = _arma(300, 0.7, seed=0)
    assert AutoARIMA().fit(y).n_models_ > 7
    assert AutoARIMA(nmodels=7).fit(y).n_models_ == 7


def test_failing_candidates_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    real_css, real_exact = arima.fit_css, arima.fit_exact

    def no_ar(function):  # type: ignore[no-untyped-def]
        def fit(w: np.ndarray, spec: Spec) -> arima.Estimate:
            if spec.p > 0:
                raise np.linalg.LinAlgError("boom")
            return function(w, spec)

        return fit

    monkeypatch.setattr(arima, "fit_css", no_ar(real_css))
    monkeypatch.setattr(arima, "fit_exact", no_ar(real_exact))
    model = AutoARIMA().fit(_arma(300, 0.7, seed=0))
    assert model.order_[0] == 0

    def never(w: np.ndarray, spec: Spec) -> arima.Estimate:
        raise ValueError("no")

    monkeypatch.setattr(arima, "fit_css", never)
    monkeypatch.setattr(arima, "fit_exact", never)
    with pytest.raises(ValueError, match="no ARIMA model could be fitted"):
        AutoARIMA().fit(_arma(300, 0.7, seed=0))


def test_degenerate_series_are_refused() -> None:
    with pytest.raises(ValueError, match="constant"):
        AutoARIMA().fit(np.full(50, 3.0))
    with pytest.raises(ValueError, match="constant"):
        AutoARIMA().fit(10 + 2.0 * np.arange(50))  # a straight line
    with pytest.raises(ParameterError, match="'order'"):
        ARIMA(order=(1, -1, 0)).fit(_arma(50))


# --- one specification against statsmodels -------------------------------------------


def _statsmodels_cases() -> list[tuple[str, np.ndarray, dict, str]]:
    e = np.random.default_rng(0).normal(size=240)
    x = np.zeros(240)
    for t in range(1, 240):
        x[t] = 0.6 * x[t - 1] + e[t] + 0.3 * e[t - 1]
    return [
        ("ARMA(1,1) with mean", 500 + x, {"order": (1, 0, 1)}, "c"),
        ("ARIMA(0,1,1) with drift", 500 + np.cumsum(0.4 + e), {"order": (0, 1, 1)}, "t"),
        (
            "ARIMA(2,1,0)",
            500 + np.cumsum(0.1 * np.cumsum(e) + e),
            {"order": (2, 1, 0), "include_constant": False},
            "n",
        ),
        (
            "ARIMA(1,0,0)(0,1,1)[12] with drift",
            _sarima(),
            {"order": (1, 0, 0), "seasonal_order": (0, 1, 1), "season_length": 12},
            "t",
        ),
    ]


@pytest.mark.parametrize(
    ("y", "params", "trend"),
    [case[1:] for case in _statsmodels_cases()],
    ids=[case[0] for case in _statsmodels_cases()],
)
def test_forecasts_match_a_direct_statsmodels_fit(y: np.ndarray, params: dict, trend: str) -> None:
    """Same specification fitted by statsmodels' own ``ARIMA.fit`` (exact diffuse
    likelihood of the undifferenced series, L-BFGS): means and 95% bounds agree to 1e-6
    (relative), so the CSS-ML estimate is the same maximum and the drift maps right."""
    from statsmodels.tsa.arima.model import ARIMA as StatsmodelsARIMA

    model = ARIMA(**params).fit(y)
    m = params.get("season_length", 1)
    seasonal = (*params["seasonal_order"], m) if m > 1 else (0, 0, 0, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = StatsmodelsARIMA(y, order=params["order"], seasonal_order=seasonal, trend=trend)
        forecast = direct.fit().get_forecast(24)
    ours = model.predict(24, levels=(95,))
    expected_lo, expected_hi = forecast.conf_int(alpha=0.05).T
    np.testing.assert_allclose(ours.mean, forecast.predicted_mean, rtol=1e-6)
    np.testing.assert_allclose(ours.intervals[95][0], expected_lo, rtol=1e-6)
    np.testing.assert_allclose(ours.intervals[95][1], expected_hi, rtol=1e-6)


def test_update_refilters_with_the_fitted_parameters() -> None:
    from statsmodels.tsa.arima.model import ARIMA as StatsmodelsARIMA

    y = _sarima(seed=1)
    model = ARIMA(order=(1, 0, 0), seasonal_order=(0, 1, 1), season_length=12).fit(y[:-24])
    updated = model.update(y)
    assert updated.n_obs_ == len(y) and model.n_obs_ == len(y) - 24
    np.testing.assert_array_equal(updated.estimate_.coef, model.estimate_.coef)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        refiltered = StatsmodelsARIMA(y, order=(1, 0, 0), seasonal_order=(0, 1, 1, 12), trend="t")
        expected = refiltered.filter(model.result_.params).get_forecast(12)
    prediction = updated.predict(12, levels=(80,))
    np.testing.assert_allclose(prediction.mean, expected.predicted_mean, rtol=1e-10)
    np.testing.assert_allclose(
        prediction.intervals[80][1], expected.conf_int(alpha=0.2)[:, 1], rtol=1e-10
    )
    refitted = model.clone().fit(y).predict(12).mean
    assert not np.allclose(prediction.mean, refitted, rtol=1e-8)  # it did not re-estimate

    auto = AutoARIMA(season_length=12).fit(y[:-24])
    auto_updated = auto.update(y)
    assert auto_updated.order_ == auto.order_ and auto_updated.n_obs_ == len(y)
    np.testing.assert_allclose(
        auto_updated.predict(12).mean, auto.chosen_.update(y).predict(12).mean, rtol=1e-12
    )


@pytest.mark.parametrize(
    "model",
    [
        ARIMA(order=(1, 1, 1)),
        ARIMA(order=(1, 0, 0), seasonal_order=(0, 1, 1), season_length=12),
        AutoARIMA(season_length=12),
    ],
    ids=repr,
)
def test_paths_are_seeded_and_match_the_intervals(model: ARIMA | AutoARIMA) -> None:
    fitted = model.fit(_sarima(seed=2))
    paths = fitted.sample_paths(18, 4000, seed=7)
    np.testing.assert_array_equal(paths, fitted.sample_paths(18, 4000, seed=7))
    assert not np.array_equal(paths, fitted.sample_paths(18, 4000, seed=8))
    prediction = fitted.predict(18, levels=(80,))
    lo, hi = prediction.intervals[80]
    inside = ((paths >= lo) & (paths <= hi)).mean(axis=0)
    assert 0.75 <= inside.mean() <= 0.85
    assert inside.min() >= 0.75 and inside.max() <= 0.85  # step by step too
    spread = (hi - lo) / (2 * 1.2816)
    assert np.all(np.abs(paths.mean(axis=0) - prediction.mean) < 4 * spread / np.sqrt(4000))


# --- against statsforecast -------------------------------------------------------------


def test_point_forecasts_agree_with_statsforecast() -> None:
    """On an AR(1) and an MA(1) series (n = 300) both libraries choose the same model
    (asserted), and the means agree to 1e-3 residual standard deviations; the 95% bounds
    to 0.05 (statsforecast, as R, widens σ² by n / (n - k); we keep the MLE)."""
    statsforecast = pytest.importorskip("statsforecast.models")
    for y in (_arma(300, ar=0.7, seed=0), _arma(300, ma=0.6, seed=0)):
        ours = AutoARIMA().fit(y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = statsforecast.AutoARIMA().fit(y)
            expected = theirs.predict(12, level=[95])
        arma = theirs.model_["arma"]
        assert (arma[0], arma[5], arma[1]) == ours.order_
        assert ("intercept" in theirs.model_["coef"]) == ours.chosen_.spec_.constant
        sd = np.sqrt(ours.chosen_.estimate_.sigma2)
        prediction = ours.predict(12, levels=(95,))
        assert np.max(np.abs(prediction.mean - expected["mean"])) < 1e-3 * sd
        assert np.max(np.abs(prediction.intervals[95][1] - expected["hi-95"])) < 0.05 * sd
