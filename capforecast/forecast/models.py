"""Forecasting models behind the :class:`~capforecast.forecast.base.Forecaster` contract."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from capforecast.forecast.base import Forecaster, Prediction, z_score


class SeasonalNaive(Forecaster):
    """Repeat the last season; intervals and paths from a seasonal random walk.

    The error of a ``k``-seasons-ahead forecast is the sum of ``k`` independent seasonal
    differences, so its standard deviation is ``σ √k`` with ``σ`` the standard deviation
    of the in-sample seasonal differences (Hyndman & Athanasopoulos, FPP3 §5.5).

    Examples
    --------
    >>> model = SeasonalNaive(season_length=2).fit(np.array([1.0, 5.0, 2.0, 6.0]))
    >>> model.predict(3).mean
    array([2., 6., 2.])
    """

    def __init__(self, season_length: int = 1) -> None:
        self.season_length = season_length

    @property
    def min_length(self) -> int:  # type: ignore[override]
        """One full season is needed to repeat it."""
        return max(1, self.season_length)

    def _fit(self, y: np.ndarray) -> None:
        m = self.season_length
        self.last_season_ = y[-m:].copy()
        differences = y[m:] - y[:-m]
        self.sigma_ = float(np.std(differences, ddof=1)) if len(differences) > 1 else 0.0

    def _steps(self, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        steps = np.arange(horizon)
        return self.last_season_[steps % self.season_length], steps // self.season_length + 1

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        mean, seasons_ahead = self._steps(horizon)
        spread = self.sigma_ * np.sqrt(seasons_ahead)
        intervals = {
            level: (mean - z_score(level) * spread, mean + z_score(level) * spread)
            for level in levels
        }
        return Prediction(mean, intervals)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        mean, seasons_ahead = self._steps(horizon)
        m = self.season_length
        cycles = int(seasons_ahead[-1]) if horizon else 0
        shocks = rng.normal(0.0, self.sigma_, size=(n_paths, cycles, m)).cumsum(axis=1)
        walk = shocks.reshape(n_paths, cycles * m)[:, :horizon]
        return mean[None, :] + walk


class ETS(Forecaster):
    """Exponential smoothing state-space model (statsmodels ``ETSModel``).

    Defaults to additive errors with a damped additive trend, and additive seasonality
    when ``season_length > 1`` and the series holds at least two full seasons.
    Intervals are the model's analytic prediction intervals; paths are simulated from the
    fitted state space.

    Examples
    --------
    >>> t = np.arange(56, dtype=float)
    >>> y = 100 + t + 10 * (t % 7 == 0)
    >>> model = ETS(season_length=7).fit(y)
    >>> prediction = model.predict(7, levels=(80,))
    >>> bool((prediction.intervals[80][0] <= prediction.mean).all())
    True
    """

    def __init__(
        self,
        season_length: int = 1,
        trend: str | None = "add",
        damped_trend: bool = True,
        seasonal: str | None = "add",
    ) -> None:
        self.season_length = season_length
        self.trend = trend
        self.damped_trend = damped_trend
        self.seasonal = seasonal

    min_length = 4

    def _fit(self, y: np.ndarray) -> None:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        seasonal = self.seasonal if self.season_length > 1 else None
        if seasonal is not None and len(y) < 2 * self.season_length + 2:
            seasonal = None  # too short to estimate a seasonal pattern
        model = ETSModel(
            pd.Series(y),
            error="add",
            trend=self.trend,
            damped_trend=self.damped_trend and self.trend is not None,
            seasonal=seasonal,
            seasonal_periods=self.season_length if seasonal else None,
        )
        with warnings.catch_warnings():
            # Optimiser chatter (convergence, bounds) is judged by the result below.
            warnings.simplefilter("ignore")
            self.result_ = model.fit(disp=False)
        if not np.isfinite(self.result_.params).all():
            raise ValueError("ETS fit produced non-finite parameters")

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        start = self.result_.nobs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prediction = self.result_.get_prediction(start=start, end=start + horizon - 1)
            mean = np.asarray(prediction.predicted_mean, dtype=float)
            intervals = {}
            for level in levels:
                frame = prediction.summary_frame(alpha=1 - level / 100)
                intervals[level] = (
                    frame["pi_lower"].to_numpy(dtype=float),
                    frame["pi_upper"].to_numpy(dtype=float),
                )
        return Prediction(mean, intervals)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            simulated = self.result_.simulate(horizon, anchor="end", repetitions=n_paths, rng=rng)
        return np.asarray(simulated, dtype=float).reshape(horizon, n_paths).T


#: Models available by name (CLI ``--model`` and the panel engine).
MODELS: dict[str, Callable[..., Forecaster]] = {
    "seasonal_naive": SeasonalNaive,
    "ets": ETS,
}


def make_model(name: str, season_length: int) -> Forecaster:
    """A new forecaster by registry name.

    Examples
    --------
    >>> make_model("ets", 7)
    ETS(season_length=7, trend='add', damped_trend=True, seasonal='add')
    """
    if name not in MODELS:
        raise ValueError(f"Unknown model '{name}'; choose one of {sorted(MODELS)}.")
    return MODELS[name](season_length=season_length)
