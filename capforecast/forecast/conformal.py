"""Conformal intervals: a model's own intervals rescaled by the errors it made in a
rolling-origin backtest of the same series.

The non-conformity score of a backtest step is its absolute error divided by the spread
(the standard deviation implied by the 80% interval) the model gave for that step; the
interval at level ``L`` is ``mean ± q_L · spread`` with ``q_L`` the split-conformal
quantile of the scores. The model keeps its point forecast and the shape of its
intervals over the horizon; only their scale is learned from what it got wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capforecast.forecast.base import Forecaster, Prediction, z_score
from capforecast.forecast.selection import default_horizon, origins, rolling_predictions

#: Fewest backtest errors that calibrate intervals; with fewer, the native ones are kept.
MIN_SCORES = 10


def spread(prediction: Prediction) -> np.ndarray:
    """The standard deviation a forecast's 80% interval implies, step by step."""
    lo, hi = prediction.intervals[80]
    return (hi - lo) / (2 * z_score(80))


@dataclass(frozen=True)
class Calibration:
    """Split-conformal scores of one series, and the intervals and paths they give."""

    scores: np.ndarray

    @classmethod
    def of(
        cls, y: np.ndarray, starts: Sequence[int], predictions: Sequence[Prediction]
    ) -> Calibration | None:
        """The scores of ``predictions`` made at ``starts`` (80% intervals needed);
        ``None`` with fewer than ``MIN_SCORES`` usable ones (steps whose spread is
        numerically zero are not scored)."""
        found = []
        # A spread below a millionth of the series' level is numerically zero (a flat
        # history): its ratio would be noise in the billions, so the step is not scored.
        negligible = 1e-6 * max(1.0, float(np.mean(np.abs(y))))
        for origin, prediction in zip(starts, predictions, strict=True):
            actual = y[origin : origin + len(prediction.mean)]
            scale = spread(prediction)
            usable = scale > negligible
            error = np.abs(actual - np.clip(prediction.mean, 0.0, None))
            found.append(error[usable] / scale[usable])
        scores = np.sort(np.concatenate(found)) if found else np.empty(0)
        return cls(scores) if len(scores) >= MIN_SCORES else None

    def quantile(self, level: int) -> float:
        """The ``ceil((n+1) L)``-th smallest score, or ``inf`` when there are too few
        scores for the level ``L``."""
        n = len(self.scores)
        rank = int(np.ceil((n + 1) * level / 100))
        return float(self.scores[rank - 1]) if rank <= n else float("inf")

    def predict(self, model: Forecaster, horizon: int, levels: tuple[int, ...]) -> Prediction:
        """``model``'s forecast with calibrated intervals (its own where a level needs
        more scores than there are)."""
        raw = model._predict(horizon, (80, *levels))
        scale = spread(raw)
        intervals = {}
        for level in levels:
            q = self.quantile(level)
            intervals[level] = (
                (raw.mean - q * scale, raw.mean + q * scale)
                if np.isfinite(q)
                else raw.intervals[level]
            )
        return Prediction(raw.mean, intervals)

    def paths(
        self, model: Forecaster, horizon: int, n_paths: int, rng: np.random.Generator
    ) -> np.ndarray:
        """``model``'s paths, spread around its mean by the 80% calibration factor."""
        paths = model._paths(horizon, n_paths, rng)
        q80 = self.quantile(80)
        if not np.isfinite(q80):
            return paths
        mean = model._predict(horizon, ()).mean
        return mean + (paths - mean) * (q80 / z_score(80))


class Conformal(Forecaster):
    """``model`` with intervals calibrated on its own rolling-origin errors.

    The model is backtested at ``n_windows`` origins ``horizon`` steps apart (the last
    ``horizon`` before the end; a panel run sets ``horizon`` to the one asked for), its
    errors scaled by its own interval spread are the conformity scores, and the model
    refitted on the whole series forecasts with intervals of the calibrated width (see
    the module docstring). Sample paths are widened or narrowed by the same factor at 80%.
    With fewer than ``MIN_SCORES`` scores (a short series) the native intervals are kept.
    The cost is ``n_windows`` more fits of the model per series.

    Examples
    --------
    >>> from capforecast.forecast.theta import Theta
    >>> y = 100 + np.random.default_rng(0).normal(0, 5, 120).cumsum()
    >>> model = Conformal(Theta(), horizon=8).fit(y)
    >>> model.name, len(model.calibration_.scores)
    ('Conformal', 24)
    """

    def __init__(
        self,
        model: Forecaster,
        horizon: int | None = None,
        n_windows: int = 3,
        alias: str | None = None,
    ) -> None:
        self.alias = alias
        self.model = model
        self.horizon = horizon
        self.n_windows = n_windows

    @property
    def needs_dates(self) -> bool:  # type: ignore[override]
        return self.model.needs_dates

    @property
    def min_length(self) -> int:  # type: ignore[override]
        return self.model.min_length

    def for_series(self, unique_id: str) -> Conformal:
        inner = self.model.for_series(unique_id)
        if inner is self.model:
            return self
        return Conformal(inner, self.horizon, self.n_windows, self.alias)

    def _fit(self, y: np.ndarray) -> None:
        self._fit_dates(y, None)

    def _fit_dates(self, y: np.ndarray, ds: pd.DatetimeIndex | None) -> None:
        season = self.model.get_params().get("season_length", 1)
        horizon = default_horizon(self.horizon, season)
        starts = origins(len(y), horizon, self.n_windows)
        self.fitted_ = self.model.clone().fit(y, ds)
        found = rolling_predictions(self.fitted_, y, ds, starts, horizon, (80,))
        self.calibration_ = Calibration.of(y, starts, found) if found else None

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        if self.calibration_ is None:
            return self.fitted_._predict(horizon, levels)
        return self.calibration_.predict(self.fitted_, horizon, levels)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        if self.calibration_ is None:
            return self.fitted_._paths(horizon, n_paths, rng)
        return self.calibration_.paths(self.fitted_, horizon, n_paths, rng)
