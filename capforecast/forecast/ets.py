"""Exponential smoothing: one ETS specification, and the automatic choice among them."""

from __future__ import annotations

import warnings
from typing import Any, Self

import numpy as np
import pandas as pd

from capforecast.core.errors import FitError
from capforecast.forecast.base import Forecaster, Prediction, Selecting


def _ets_model(
    y: np.ndarray, trend: str | None, damped: bool, seasonal: str | None, season_length: int
) -> Any:
    """A statsmodels ``ETSModel`` with additive errors for ``y``."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    return ETSModel(
        pd.Series(y),
        error="add",
        trend=trend,
        damped_trend=damped,
        seasonal=seasonal,
        seasonal_periods=season_length if seasonal else None,
    )


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
        alias: str | None = None,
    ) -> None:
        self.alias = alias
        self.season_length = season_length
        self.trend = trend
        self.damped_trend = damped_trend
        self.seasonal = seasonal

    min_length = 4

    def _fit(self, y: np.ndarray) -> None:

        seasonal = self.seasonal if self.season_length > 1 else None
        if seasonal is not None and len(y) < 2 * self.season_length + 2:
            seasonal = None  # too short to estimate a seasonal pattern
        damped = self.damped_trend and self.trend is not None
        parameters = (
            2  # smoothing level and initial level
            + (2 if self.trend else 0)
            + (1 if damped else 0)
            + (self.season_length if seasonal else 0)
        )
        if len(y) < parameters + 4:
            # As R's ets(): fewer points would let the model interpolate its data.
            raise FitError(f"ETS needs at least {parameters + 4} observations, got {len(y)}")
        with warnings.catch_warnings():
            # Optimiser chatter (convergence, bounds) is judged by the result below.
            warnings.simplefilter("ignore")
            try:
                model = _ets_model(y, self.trend, damped, seasonal, self.season_length)
                self.result_ = model.fit(disp=False)
            except ValueError as exc:  # statsmodels cannot fit this series
                raise FitError(f"ETS: {exc}") from exc
        if not np.isfinite(self.result_.params).all():
            raise FitError("ETS fit produced non-finite parameters")

    def update(self, y: np.ndarray, ds: pd.DatetimeIndex | None = None) -> Self:
        """Re-filter the longer series ``y`` with the fitted parameters (no re-estimation)."""
        self._check_fitted()
        fitted = self.result_.model
        model = _ets_model(
            np.asarray(y, dtype=float),
            fitted.trend,
            fitted.damped_trend,
            fitted.seasonal,
            fitted.seasonal_periods,
        )
        updated = self.clone()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            updated.result_ = model.smooth(self.result_.params)
        updated.n_obs_ = len(y)
        return updated

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


#: Longest season AutoETS models with seasonal states; longer ones (52 for weekly data)
#: have too many states to estimate reliably, as R's ``ets`` and statsforecast also hold.
MAX_SEASON = 24


class AutoETS(Selecting):
    """The ETS specification with the lowest AICc among SES, Holt, damped Holt and, for
    seasonal data with a season of at most ``MAX_SEASON`` steps, additive Holt-Winters
    with and without damping.

    All candidates have additive errors, so intervals are analytic.

    Examples
    --------
    >>> t = np.arange(80, dtype=float)
    >>> model = AutoETS().fit(50 + 2 * t)
    >>> model.chosen_.trend
    'add'
    """

    min_length = 4

    def __init__(self, season_length: int = 1, alias: str | None = None) -> None:
        self.alias = alias
        self.season_length = season_length

    def candidates(self, n_obs: int) -> list[ETS]:
        """The specifications tried for a series of ``n_obs`` observations."""
        shapes: list[tuple[str | None, bool]] = [(None, False), ("add", False), ("add", True)]
        seasonal = 1 < self.season_length <= MAX_SEASON and n_obs >= 2 * self.season_length + 2
        models = [
            ETS(season_length=1, trend=trend, damped_trend=damped, seasonal=None)
            for trend, damped in shapes
        ]
        if seasonal:
            models += [
                ETS(season_length=self.season_length, trend=trend, damped_trend=damped)
                for trend, damped in shapes
            ]
        return models

    def _fit(self, y: np.ndarray) -> None:
        best: tuple[float, ETS] | None = None
        for candidate in self.candidates(len(y)):
            try:
                candidate.fit(y)
            except FitError:
                continue
            score = float(candidate.result_.aicc)
            if np.isfinite(score) and (best is None or score < best[0]):
                best = (score, candidate)
        if best is None:
            raise FitError("no ETS specification could be fitted")
        self.aicc_, self.chosen_ = best

    def update(self, y: np.ndarray, ds: pd.DatetimeIndex | None = None) -> Self:
        """Keep the chosen specification and its parameters; re-filter ``y``."""
        self._check_fitted()
        updated = self.clone()
        updated.aicc_, updated.chosen_ = self.aicc_, self.chosen_.update(y)
        updated.n_obs_ = len(y)
        return updated
