"""Conformal intervals: a model's intervals rescaled by its own backtest errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capforecast import forecast
from capforecast.core.errors import ParameterError
from capforecast.forecast.base import Forecaster, Prediction, normal_prediction, z_score
from capforecast.forecast.conformal import MIN_SCORES, Conformal
from capforecast.forecast.theta import Theta


class Overconfident(Forecaster):
    """The last value, with a normal interval of a quarter of the random walk's spread:
    far too narrow, as Prophet's default intervals are on bursty demand."""

    def __init__(self, season_length: int = 1, alias: str | None = None) -> None:
        self.alias = alias
        self.season_length = season_length

    def _fit(self, y: np.ndarray) -> None:
        self.last_ = y[-1]
        self.sigma_ = float(np.sqrt(np.mean(np.diff(y) ** 2)))

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        spread = 0.25 * self.sigma_ * np.sqrt(np.arange(1, horizon + 1))
        return normal_prediction(np.full(horizon, self.last_), spread, levels)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        steps = rng.normal(0, 0.25 * self.sigma_, (n_paths, horizon))
        return self.last_ + steps.cumsum(axis=1)


def _walks(n: int, length: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1_000 + rng.normal(0, 5, (n, length)).cumsum(axis=1)


def test_an_overconfident_model_is_brought_to_the_nominal_coverage() -> None:
    horizon, inside_native, inside_conformal = 6, [], []
    for y in _walks(150, 206, seed=3):
        train, test = y[:-horizon], y[-horizon:]
        native = Overconfident().fit(train).predict(horizon, levels=(80,))
        calibrated = Conformal(Overconfident(), horizon=horizon, n_windows=8).fit(train)
        ours = calibrated.predict(horizon, levels=(80,))
        for found, into in ((native, inside_native), (ours, inside_conformal)):
            lo, hi = found.intervals[80]
            into.append(np.mean((test >= lo) & (test <= hi)))
    assert np.mean(inside_native) < 0.4
    assert 0.72 <= np.mean(inside_conformal) <= 0.88


def test_scale_is_the_split_conformal_quantile_and_the_point_forecast_is_kept() -> None:
    y = _walks(1, 150, seed=5)[0]
    model = Conformal(Theta(), horizon=10, n_windows=3).fit(y)
    scores = model.calibration_.scores
    assert len(scores) == 30 and np.all(np.diff(scores) >= 0)
    native = Theta().fit(y).predict(10, levels=(80,))
    ours = model.predict(10, levels=(80, 99))
    np.testing.assert_allclose(ours.mean, native.mean)
    spread = (native.intervals[80][1] - native.intervals[80][0]) / (2 * z_score(80))
    low, high = ours.intervals[80]
    np.testing.assert_allclose(high - low, 2 * scores[24] * spread, rtol=1e-9)  # 25th of 30
    # 99% needs a 31st score: the native interval is kept.
    np.testing.assert_allclose(
        ours.intervals[99][1], Theta().fit(y).predict(10, (99,)).intervals[99][1]
    )
    paths = model.sample_paths(10, 4000, seed=1)
    lo, hi = np.quantile(paths, [0.1, 0.9], axis=0)
    assert np.allclose(lo, low, atol=0.15 * np.ptp(high - low) + 0.1 * (high - low).mean())
    assert np.allclose(hi, high, atol=0.15 * np.ptp(high - low) + 0.1 * (high - low).mean())


def test_short_series_keep_the_native_intervals_and_panels_set_the_horizon() -> None:
    y = _walks(1, 14, seed=2)[0]
    model = Conformal(Theta(), horizon=3, n_windows=3).fit(y)
    assert model.calibration_ is None  # 9 scores < MIN_SCORES
    assert MIN_SCORES == 10
    native = Theta().fit(y).predict(3, levels=(80,))
    np.testing.assert_allclose(model.predict(3, levels=(80,)).intervals[80], native.intervals[80])
    history = pd.DataFrame(
        {
            "unique_id": np.repeat(["a", "b"], 60),
            "ds": np.tile(pd.date_range("2026-01-05", periods=60, freq="W-MON"), 2),
            "y": _walks(2, 60, seed=4).ravel(),
        }
    )
    history.attrs["freq"] = "W-MON"
    table = forecast(history, 5, models=[Conformal(Theta(), alias="theta_conformal")])
    assert set(table["model"]) == {"theta_conformal"} and len(table) == 10
    with pytest.raises(ParameterError, match="alias"):
        forecast(history, 5, models=[Conformal(Theta()), Conformal(Theta())])


class Flat(Overconfident):
    """Overconfident with a spread that is numerically zero (a flat history's)."""

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        return normal_prediction(np.full(horizon, self.last_), np.full(horizon, 1e-12), levels)


def test_numerically_zero_spreads_are_not_scored() -> None:
    # Flat at 40, then a step to 64 inside the backtest windows: errors of 24 over a
    # spread of 1e-12 would widen the intervals to ~1e13; those steps are left out.
    y = np.r_[np.full(60, 40.0), np.full(30, 64.0)]
    model = Conformal(Flat(), horizon=10, n_windows=3).fit(y)
    assert model.calibration_ is None
    low, high = model.predict(10, levels=(80,)).intervals[80]
    assert (high - low).max() < 1e-9
