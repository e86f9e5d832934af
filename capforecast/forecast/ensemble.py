"""Ensembles: a weighted combination of forecasters, weighted by their own backtests.

Combining forecasts is the most reliable gain in forecasting competitions (M4: all top
methods combine). :class:`Ensemble` fits its members, scores each one on rolling-origin
backtests of the series, and weights it by the inverse of its MASE. The mean is the
weighted mean; each interval bound is the ensemble mean plus the weighted mean of the
members' distances to that bound (quantile averaging); sample paths are drawn from the
members in proportion to their weights and recentred on the ensemble mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from capforecast.core.errors import ParameterError
from capforecast.forecast import metrics
from capforecast.forecast.base import Forecaster, Prediction

#: Members of the default ensemble: on M4 Weekly the inverse-MASE mix of the two has OWA
#: 0.808 against 0.880 (Theta) and 0.915 (AutoETS) alone (``benchmarks/m4.py``).
ENSEMBLE_MEMBERS = ("theta", "auto_ets")

#: Exceptions that mean "this model cannot fit this series", not a caller's mistake.
FIT_ERRORS = (ValueError, np.linalg.LinAlgError, FloatingPointError)


def default_horizon(horizon: int | None, season_length: int) -> int:
    """The backtest horizon of models that select by backtest, when none is given:
    two seasons, at least 4 steps."""
    return horizon or max(2 * season_length, 4)


def origins(length: int, horizon: int, n_windows: int) -> list[int]:
    """Backtest origins ``horizon`` apart, the last ``horizon`` before the end; origins
    that would leave fewer than 4 training points are dropped.

    Examples
    --------
    >>> origins(30, horizon=5, n_windows=3)
    [15, 20, 25]
    >>> origins(10, horizon=4, n_windows=3)
    [6]
    """
    last = length - horizon
    return [o for o in (last - horizon * i for i in reversed(range(n_windows))) if o >= 4]


def rolling_predictions(
    model: Forecaster,
    y: np.ndarray,
    ds: pd.DatetimeIndex | None,
    starts: Sequence[int],
    horizon: int,
) -> list[Prediction] | None:
    """Raw 80% predictions of ``model`` fitted before each origin; ``None`` when a fit
    fails (the candidate is then not scored)."""
    found = []
    for origin in starts:
        try:
            fitted = model.clone().fit(y[:origin], None if ds is None else ds[:origin])
        except FIT_ERRORS:
            return None
        found.append(fitted._predict(horizon, (80,)))
    return found


def backtest_mase(y: np.ndarray, starts: Sequence[int], predictions: Sequence[Prediction]) -> float:
    """Mean MASE (lag-1 scaling) of non-negative forecasts over the backtest windows;
    NaN when no window is scorable (e.g. a constant history)."""
    scores = []
    for origin, prediction in zip(starts, predictions, strict=True):
        actual = y[origin : origin + len(prediction.mean)]
        forecast = np.clip(prediction.mean, 0.0, None)
        scores.append(metrics.mase(actual, forecast, y[:origin], 1))
    finite = [s for s in scores if np.isfinite(s)]
    return float(np.mean(finite)) if finite else float("nan")


def inverse_score_weights(scores: Sequence[float]) -> np.ndarray:
    """Weights proportional to ``1 / score``; a perfect score (0) takes all the weight,
    shared with any other perfect one; no finite score gives equal weights.

    Examples
    --------
    >>> inverse_score_weights([1.0, 3.0]).tolist()
    [0.75, 0.25]
    >>> inverse_score_weights([0.0, 2.0]).tolist()
    [1.0, 0.0]
    """
    values = np.asarray(scores, dtype=float)
    if not len(values):
        raise ValueError("no scores to weight")
    if not np.isfinite(values).any():
        return np.full(len(values), 1.0 / len(values))
    values = np.where(np.isfinite(values), values, np.inf)
    weights = (values == 0).astype(float) if (values == 0).any() else 1.0 / values
    return weights / weights.sum()


def combine(predictions: Sequence[Prediction], weights: np.ndarray) -> Prediction:
    """The weighted mean forecast with quantile-averaged interval bounds.

    Examples
    --------
    >>> a = Prediction(np.array([10.0]), {80: (np.array([8.0]), np.array([12.0]))})
    >>> b = Prediction(np.array([20.0]), {80: (np.array([14.0]), np.array([26.0]))})
    >>> c = combine([a, b], np.array([0.5, 0.5]))
    >>> c.mean.tolist(), [bound.tolist() for bound in c.intervals[80]]
    ([15.0], [[11.0], [19.0]])
    """
    mean = sum(w * p.mean for w, p in zip(weights, predictions, strict=True))
    intervals = {}
    for level in predictions[0].intervals:
        below = sum(
            w * (p.mean - p.intervals[level][0]) for w, p in zip(weights, predictions, strict=True)
        )
        above = sum(
            w * (p.intervals[level][1] - p.mean) for w, p in zip(weights, predictions, strict=True)
        )
        intervals[level] = (mean - below, mean + above)
    return Prediction(np.asarray(mean, dtype=float), intervals)


class Ensemble(Forecaster):
    """A weighted combination of ``members``, weighted by their rolling-origin backtests.

    Each member is fitted before ``n_windows`` origins ``horizon`` steps apart and scored
    by MASE on the following ``horizon`` steps; its weight is proportional to the inverse
    of its mean MASE (``weights="inverse_mase"``) or equal (``weights="equal"``, and when
    the series is too short to backtest). Members that cannot fit the series are left out.

    Examples
    --------
    >>> t = np.arange(120, dtype=float)
    >>> model = Ensemble(horizon=8).fit(100 + 3 * t + 5 * np.sin(t))
    >>> [m.name for m in model.members_], bool(abs(model.weights_.sum() - 1) < 1e-12)
    (['Theta', 'AutoETS'], True)
    """

    min_length = 4

    def __init__(
        self,
        season_length: int = 1,
        horizon: int | None = None,
        n_windows: int = 2,
        members: Sequence[str] = ENSEMBLE_MEMBERS,
        weights: str = "inverse_mase",
    ) -> None:
        self.season_length = season_length
        self.horizon = horizon
        self.n_windows = n_windows
        self.members = members
        self.weights = weights

    @classmethod
    def of(
        cls, names: Sequence[str], fitted: Sequence[Forecaster], weights: np.ndarray
    ) -> Ensemble:
        """An ensemble of the already fitted members ``names`` with given weights (used by
        ``auto``, which has backtested them already)."""
        season = fitted[0].get_params().get("season_length", 1)
        ensemble = cls(season_length=season, members=tuple(names))
        ensemble.members_ = list(fitted)
        ensemble.weights_ = np.asarray(weights, dtype=float) / float(np.sum(weights))
        ensemble.n_obs_ = fitted[0].n_obs_
        return ensemble

    def _fit(self, y: np.ndarray) -> None:
        self._fit_dates(y, None)

    def _fit_dates(self, y: np.ndarray, ds: pd.DatetimeIndex | None) -> None:
        from capforecast.forecast.models import make_model

        if self.weights not in ("inverse_mase", "equal"):
            raise ParameterError(
                f"The 'weights' parameter of Ensemble must be 'inverse_mase' or 'equal'. "
                f"Got {self.weights!r} instead."
            )
        if not self.members:
            raise ParameterError("An Ensemble needs at least one member.")
        horizon = default_horizon(self.horizon, self.season_length)
        starts = origins(len(y), horizon, self.n_windows)
        models = [make_model(name, self.season_length) for name in self.members]
        scores = []
        for model in models:
            found = rolling_predictions(model, y, ds, starts, horizon) if starts else None
            scores.append(backtest_mase(y, starts, found) if found else float("nan"))
        fitted, kept = [], []
        for model, score in zip(models, scores, strict=True):
            try:
                fitted.append(model.fit(y, ds))
            except FIT_ERRORS:
                continue
            kept.append(score)
        if not fitted:
            raise ValueError("no member of the ensemble could be fitted")
        self.scores_ = dict(zip(self.members, scores, strict=True))
        self.members_ = fitted
        self.weights_ = (
            inverse_score_weights(kept)
            if self.weights == "inverse_mase"
            else np.full(len(fitted), 1.0 / len(fitted))
        )

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        return combine([m._predict(horizon, levels) for m in self.members_], self.weights_)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        # A mixture: each path comes from one member, drawn by weight, and keeps that
        # member's deviations from its own mean around the ensemble mean.
        mean = self._predict(horizon, ()).mean
        source = rng.choice(len(self.members_), size=n_paths, p=self.weights_)
        paths = np.empty((n_paths, horizon))
        for index, member in enumerate(self.members_):
            rows = np.flatnonzero(source == index)
            if len(rows):
                own = member._paths(horizon, len(rows), rng)
                paths[rows] = mean + own - member._predict(horizon, ()).mean
        return paths
