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

from capforecast.core.errors import FitError, ParameterError
from capforecast.forecast.base import Forecaster, Prediction
from capforecast.forecast.ets import AutoETS
from capforecast.forecast.selection import (
    backtest_mase,
    check_forecasters,
    combine,
    default_horizon,
    fit_and_backtest,
    inverse_score_weights,
    origins,
)
from capforecast.forecast.theta import Theta


def default_members(season_length: int) -> list[Forecaster]:
    """The members of the default ensemble: on M4 Weekly the inverse-MASE mix of Theta and
    AutoETS has OWA 0.801 against 0.880 (Theta) and 0.910 (AutoETS) alone
    (``benchmarks/m4.py``)."""
    return [Theta(season_length=season_length), AutoETS(season_length=season_length)]


class Ensemble(Forecaster):
    """A weighted combination of ``members``, weighted by their rolling-origin backtests.

    Each member is fitted before ``n_windows`` origins ``horizon`` steps apart and scored
    by MASE on the following ``horizon`` steps; its weight is proportional to the inverse
    of its mean MASE (``weights="inverse_mase"``) or equal (``weights="equal"``, and when
    the series is too short to backtest). Members that cannot fit the series are left out.
    ``members`` are forecaster instances with different names (default: Theta and AutoETS
    of the ensemble's ``season_length``); ``scores_`` is keyed by their names.

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
        n_windows: int = 5,
        members: Sequence[Forecaster] | None = None,
        weights: str = "inverse_mase",
        alias: str | None = None,
    ) -> None:
        self.alias = alias
        self.season_length = season_length
        self.horizon = horizon
        self.n_windows = n_windows
        self.members = members
        self.weights = weights

    @classmethod
    def of(cls, fitted: Sequence[Forecaster], weights: np.ndarray) -> Ensemble:
        """An ensemble of already fitted members with given weights (used by ``auto``,
        which has backtested them already)."""
        season = fitted[0].get_params().get("season_length", 1)
        ensemble = cls(season_length=season, members=list(fitted))
        ensemble.members_ = list(fitted)
        ensemble.weights_ = np.asarray(weights, dtype=float) / float(np.sum(weights))
        ensemble.n_obs_ = fitted[0].n_obs_
        return ensemble

    def _fit(self, y: np.ndarray) -> None:
        self._fit_dates(y, None)

    def _fit_dates(self, y: np.ndarray, ds: pd.DatetimeIndex | None) -> None:
        if self.weights not in ("inverse_mase", "equal"):
            raise ParameterError(
                f"The 'weights' parameter of Ensemble must be 'inverse_mase' or 'equal'. "
                f"Got {self.weights!r} instead."
            )
        if self.members is not None and not self.members:
            raise ParameterError("An Ensemble needs at least one member.")
        if self.members is None:
            members = default_members(self.season_length)
        else:
            members = check_forecasters(self.members, "members of an Ensemble")
        horizon = default_horizon(self.horizon, self.season_length)
        starts = origins(len(y), horizon, self.n_windows)
        backtested = fit_and_backtest(members, y, ds, starts, horizon)
        fitted = [model for model, _ in backtested]
        scores = [
            backtest_mase(y, starts, found) if found else float("nan") for _, found in backtested
        ]
        if not fitted:
            raise FitError("no member of the ensemble could be fitted")
        self.scores_ = {model.name: score for model, score in zip(fitted, scores, strict=True)}
        self.members_ = fitted
        self.weights_ = (
            inverse_score_weights(scores)
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
