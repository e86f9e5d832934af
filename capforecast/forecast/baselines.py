"""Baseline forecasters: naive, seasonal naive, drift and window average.

Intervals follow the benchmark methods of Hyndman & Athanasopoulos, *Forecasting:
Principles and Practice* (3rd ed.), §5.5, with the residual standard deviation ``σ`` of
each method's one-step (or one-season) fitted errors. Sample paths simulate the same
error process, so their quantiles agree with the intervals.

The naive and seasonal naive forecasts can do better: their forecast from every past
origin is known without fitting anything, so the history holds hundreds of real
``h``-step errors. With ``intervals="empirical"`` (their default) the interval at step
``h`` is ``mean ± q``, ``q`` the ``L``-quantile of the absolute ``h``-step errors over
the history (split-conformal with every origin as a calibration point), and paths replay
whole past error trajectories (with a random sign, so that their quantiles match the
symmetric intervals). On step-like series (allocations that change a few times a year)
a normal random walk puts 96% of outcomes in its 80% interval; the empirical errors do
not (``benchmarks/gpu_series.py``). Steps with fewer than ``MIN_EMPIRICAL`` past errors
use the normal formula.
"""

from __future__ import annotations

import numpy as np

from capforecast.core.errors import ParameterError
from capforecast.forecast.base import Forecaster, Prediction, normal_prediction

#: Fewest past errors at a step (or whole past trajectories, for paths) for empirical
#: intervals; below, the normal formula is used.
MIN_EMPIRICAL = 20


def _rms(errors: np.ndarray) -> float:
    """Root mean square of one-step errors: the residual σ of a (seasonal) random walk.

    The errors are not demeaned: a trend the method ignores must widen its intervals
    (as in R's ``forecast::rwf`` and ``snaive``).
    """
    return float(np.sqrt(np.mean(errors**2))) if len(errors) else 0.0


def past_errors(y: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Errors of the (seasonal) naive forecast from every past origin: row ``τ``, column
    ``h - 1`` is ``y[τ + h]`` minus the forecast made with data up to ``τ`` (NaN past the
    end of the history)."""
    n = len(y)
    origins = np.arange(season - 1, n - 1)
    steps = np.arange(1, horizon + 1)
    target = origins[:, None] + steps[None, :]
    source = origins[:, None] - season + 1 + (steps[None, :] - 1) % season
    inside = target < n
    errors = np.full(target.shape, np.nan)
    errors[inside] = y[target[inside]] - y[source[inside]]
    return errors


class _Repeating(Forecaster):
    """Shared by the naive forecasts: empirical or normal intervals and paths."""

    intervals: str

    @property
    def _lag(self) -> int:
        """The season the forecast repeats (1 for the naive forecast)."""
        raise NotImplementedError

    def _check_intervals(self) -> None:
        if self.intervals not in ("empirical", "normal"):
            raise ParameterError(
                f"The 'intervals' parameter of {self.name} must be 'empirical' or 'normal'. "
                f"Got {self.intervals!r} instead."
            )

    def _fit(self, y: np.ndarray) -> None:
        self._check_intervals()
        self.y_ = y.copy()

    def _mean(self, horizon: int) -> np.ndarray:
        raise NotImplementedError

    def _normal_spread(self, horizon: int) -> np.ndarray:
        raise NotImplementedError

    def _normal_paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _errors(self, horizon: int) -> np.ndarray | None:
        if self.intervals != "empirical":
            return None
        return past_errors(self.y_, horizon, self._lag)

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        mean = self._mean(horizon)
        normal = normal_prediction(mean, self._normal_spread(horizon), levels)
        errors = self._errors(horizon) if levels else None
        if errors is None:
            return normal
        counts = np.sum(~np.isnan(errors), axis=0)
        usable = counts >= MIN_EMPIRICAL
        if not usable.any():
            return normal
        ordered = np.sort(np.abs(errors), axis=0)  # NaN (no error yet) sorts last
        intervals = {}
        for level in levels:
            lo, hi = (bound.copy() for bound in normal.intervals[level])
            # Split-conformal: the ceil((n + 1) L)-th smallest of the n past errors.
            rank = np.ceil((counts + 1) * level / 100).astype(int)
            fits = usable & (rank <= counts)
            q = ordered[rank[fits] - 1, np.flatnonzero(fits)]
            lo[fits], hi[fits] = mean[fits] - q, mean[fits] + q
            intervals[level] = (lo, hi)
        return Prediction(mean, intervals)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        errors = self._errors(horizon)
        whole = None if errors is None else errors[~np.isnan(errors).any(axis=1)]
        if whole is None or len(whole) < MIN_EMPIRICAL:
            return self._normal_paths(horizon, n_paths, rng)
        rows = rng.integers(0, len(whole), n_paths)
        signs = rng.choice(np.array([-1.0, 1.0]), n_paths)
        return self._mean(horizon) + signs[:, None] * whole[rows]


class Naive(_Repeating):
    """The last observation, repeated.

    Intervals and paths: empirical ``h``-step errors of past naive forecasts (default),
    or a normal random walk (``intervals="normal"``, and for steps with fewer than
    ``MIN_EMPIRICAL`` past errors).

    Examples
    --------
    >>> Naive().fit(np.array([3.0, 5.0, 4.0])).predict(2).mean
    array([4., 4.])
    """

    min_length = 2

    def __init__(
        self, season_length: int = 1, intervals: str = "empirical", alias: str | None = None
    ) -> None:
        self.alias = alias
        self.season_length = season_length  # accepted for a uniform registry; unused
        self.intervals = intervals

    @property
    def _lag(self) -> int:
        return 1

    def _fit(self, y: np.ndarray) -> None:
        super()._fit(y)
        self.last_ = float(y[-1])
        self.sigma_ = _rms(np.diff(y))

    def _mean(self, horizon: int) -> np.ndarray:
        return np.full(horizon, self.last_)

    def _normal_spread(self, horizon: int) -> np.ndarray:
        return self.sigma_ * np.sqrt(np.arange(1, horizon + 1))

    def _normal_paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        walk = rng.normal(0.0, self.sigma_, size=(n_paths, horizon)).cumsum(axis=1)
        return self.last_ + walk


class SeasonalNaive(_Repeating):
    """Repeat the last season.

    Intervals and paths: empirical ``h``-step errors of past seasonal naive forecasts
    (default), or a seasonal random walk (``intervals="normal"``): the error of a
    ``k``-seasons-ahead forecast is the sum of ``k`` independent seasonal differences, so
    its standard deviation is ``σ √k`` with ``σ`` the root mean square of the in-sample
    seasonal differences (Hyndman & Athanasopoulos, FPP3 §5.5).

    Examples
    --------
    >>> model = SeasonalNaive(season_length=2).fit(np.array([1.0, 5.0, 2.0, 6.0]))
    >>> model.predict(3).mean
    array([2., 6., 2.])
    """

    def __init__(
        self, season_length: int = 1, intervals: str = "empirical", alias: str | None = None
    ) -> None:
        self.alias = alias
        self.season_length = season_length
        self.intervals = intervals

    @property
    def min_length(self) -> int:  # type: ignore[override]
        """One full season is needed to repeat it."""
        return max(1, self.season_length)

    @property
    def _lag(self) -> int:
        return self.season_length

    def _fit(self, y: np.ndarray) -> None:
        super()._fit(y)
        m = self.season_length
        self.last_season_ = y[-m:].copy()
        differences = y[m:] - y[:-m]
        self.sigma_ = _rms(differences)

    def _steps(self, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        steps = np.arange(horizon)
        return self.last_season_[steps % self.season_length], steps // self.season_length + 1

    def _mean(self, horizon: int) -> np.ndarray:
        return self._steps(horizon)[0]

    def _normal_spread(self, horizon: int) -> np.ndarray:
        return self.sigma_ * np.sqrt(self._steps(horizon)[1])

    def _normal_paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
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

    def __init__(self, season_length: int = 1, alias: str | None = None) -> None:
        self.alias = alias
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

    def __init__(self, window: int = 4, season_length: int = 1, alias: str | None = None) -> None:
        self.alias = alias
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
