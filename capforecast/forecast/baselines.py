"""Baseline forecasters: naive, seasonal naive, drift and window average.

Intervals follow the benchmark methods of Hyndman & Athanasopoulos, *Forecasting:
Principles and Practice* (3rd ed.), §5.5, with the residual standard deviation ``σ`` of
each method's one-step (or one-season) fitted errors. Sample paths simulate the same
error process, so their quantiles agree with the intervals.
"""

from __future__ import annotations

import numpy as np

from capforecast.forecast.base import Forecaster, Prediction, normal_prediction


def _rms(errors: np.ndarray) -> float:
    """Root mean square of one-step errors: the residual σ of a (seasonal) random walk.

    The errors are not demeaned: a trend the method ignores must widen its intervals
    (as in R's ``forecast::rwf`` and ``snaive``).
    """
    return float(np.sqrt(np.mean(errors**2))) if len(errors) else 0.0


class Naive(Forecaster):
    """The last observation, repeated; a random walk for intervals and paths.

    Examples
    --------
    >>> Naive().fit(np.array([3.0, 5.0, 4.0])).predict(2).mean
    array([4., 4.])
    """

    min_length = 2

    def __init__(self, season_length: int = 1) -> None:
        self.season_length = season_length  # accepted for a uniform registry; unused

    def _fit(self, y: np.ndarray) -> None:
        self.last_ = float(y[-1])
        self.sigma_ = _rms(np.diff(y))

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        steps = np.arange(1, horizon + 1)
        return normal_prediction(np.full(horizon, self.last_), self.sigma_ * np.sqrt(steps), levels)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        walk = rng.normal(0.0, self.sigma_, size=(n_paths, horizon)).cumsum(axis=1)
        return self.last_ + walk


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
        self.sigma_ = _rms(differences)

    def _steps(self, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        steps = np.arange(horizon)
        return self.last_season_[steps % self.season_length], steps // self.season_length + 1

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        mean, seasons_ahead = self._steps(horizon)
        return normal_prediction(mean, self.sigma_ * np.sqrt(seasons_ahead), levels)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        mean, seasons_ahead = self._steps(horizon)
        m = self.season_length
        cycles = int(seasons_ahead[-1]) if horizon else 0
        shocks = rng.normal(0.0, self.sigma_, size=(n_paths, cycles, m)).cumsum(axis=1)
        walk = shocks.reshape(n_paths, cycles * m)[:, :horizon]
        return mean[None, :] + walk


class Drift(Forecaster):
    """The line through the first and last observations, extended.

    Examples
    --------
    >>> Drift().fit(np.array([1.0, 2.0, 3.0])).predict(2).mean
    array([4., 5.])
    """

    min_length = 3

    def __init__(self, season_length: int = 1) -> None:
        self.season_length = season_length  # accepted for a uniform registry; unused

    def _fit(self, y: np.ndarray) -> None:
        self.n_ = len(y)
        self.last_ = float(y[-1])
        self.slope_ = float((y[-1] - y[0]) / (len(y) - 1))
        residuals = np.diff(y) - self.slope_
        self.sigma_ = float(np.std(residuals, ddof=1))

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        steps = np.arange(1, horizon + 1)
        mean = self.last_ + self.slope_ * steps
        spread = self.sigma_ * np.sqrt(steps * (1 + steps / self.n_))
        return normal_prediction(mean, spread, levels)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        steps = np.arange(1, horizon + 1)
        walk = rng.normal(0.0, self.sigma_, size=(n_paths, horizon)).cumsum(axis=1)
        return self.last_ + self.slope_ * steps + walk


class WindowAverage(Forecaster):
    """The mean of the last ``window`` observations.

    Examples
    --------
    >>> WindowAverage(window=2).fit(np.array([1.0, 3.0, 5.0])).predict(1).mean
    array([4.])
    """

    def __init__(self, window: int = 4, season_length: int = 1) -> None:
        self.window = window
        self.season_length = season_length  # accepted for a uniform registry; unused

    @property
    def min_length(self) -> int:  # type: ignore[override]
        """The window must be full."""
        return max(2, self.window)

    def _fit(self, y: np.ndarray) -> None:
        recent = y[-self.window :]
        self.level_ = float(recent.mean())
        self.sigma_ = float(np.std(recent, ddof=1)) if len(recent) > 1 else 0.0

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        spread = np.full(horizon, self.sigma_ * np.sqrt(1 + 1 / self.window))
        return normal_prediction(np.full(horizon, self.level_), spread, levels)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        scale = self.sigma_ * np.sqrt(1 + 1 / self.window)
        return self.level_ + rng.normal(0.0, scale, size=(n_paths, horizon))
