"""Exponential smoothing: one ETS specification, and the automatic choice among them."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from scipy.stats import chi2

from capforecast.core.errors import FitError
from capforecast.forecast.base import Forecaster, Prediction, Selecting


def _impulse(fit: dict[str, Any], horizon: int) -> np.ndarray:
    """The weights ``c_1 .. c_{h-1}`` of past innovations in the ``h``-step forecast error
    of an additive-error ETS model: ``c_j = alpha + beta * (phi + ... + phi^j) + gamma``
    when ``j`` is a multiple of the season (Hyndman et al. 2008, table 6.1)."""
    alpha, beta, gamma, phi = (0.0 if np.isnan(v) else float(v) for v in fit["par"][:4])
    _, trend, season, damped = fit["components"]
    j = np.arange(1, horizon, dtype=float)
    weights = np.full(len(j), alpha)
    if trend != "N":
        weights += beta * (np.cumsum(phi**j) if damped == "D" else j)
    if season != "N":
        weights += gamma * (j % fit["m"] == 0)
    return weights


class ETS(Forecaster):
    """Exponential smoothing state-space model with additive errors, fitted by maximum
    likelihood with statsforecast's compiled kernel (the algorithm of R's ``ets``).

    Defaults to a damped additive trend, and additive seasonality when
    ``season_length > 1`` and the series holds at least two full seasons.
    Intervals are the model's analytic prediction intervals; paths add normal innovations
    through the same state space, so their quantiles match the intervals.

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
        from statsforecast.ets import ets_f

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
        if len(y) <= parameters + 4:
            # As R's ets(): fewer points would let the model interpolate its data.
            raise FitError(f"ETS needs at least {parameters + 5} observations, got {len(y)}")
        code = "A" + ("A" if self.trend else "N") + ("A" if seasonal else "N")
        try:
            self.fit_ = ets_f(y, self.season_length if seasonal else 1, model=code, damped=damped)
        except (ValueError, NotImplementedError) as exc:  # the kernel cannot fit this series
            raise FitError(f"ETS: {exc}") from exc
        if not (np.isfinite(self.fit_["states"][-1]).all() and np.isfinite(self.fit_["sigma2"])):
            raise FitError("ETS fit produced non-finite states")

    @property
    def aicc(self) -> float:
        """The corrected Akaike information criterion of the fit."""
        self._check_fitted()
        return float(self.fit_["aicc"])

    def update(self, y: np.ndarray, ds: pd.DatetimeIndex | None = None) -> Self:
        """Re-filter the longer series ``y`` with the fitted parameters (no re-estimation)."""
        from statsforecast.ets import forward_ets

        self._check_fitted()
        updated = self.clone()
        updated.fit_ = forward_ets(self.fit_, np.asarray(y, dtype=float))
        updated.n_obs_ = len(y)
        return updated

    def advance(self, y: np.ndarray, ds: pd.DatetimeIndex | None = None) -> Self:
        """Re-filter the longer series ``y`` with the fitted parameters, and re-estimate
        them only when they no longer explain the new observations: when the mean square
        of the new one-step errors exceeds the fitted variance at the 99% point of a
        chi-square test (a level shift, a change of trend). On the panel of
        ``benchmarks/scale.py`` this refits 0.2 of 4 later backtest windows per series,
        and the backtests rank the models as refitting every window does."""
        updated = self.update(y, ds)
        new = updated.fit_["residuals"][self.n_obs_ :]
        if not len(new):
            return updated
        limit = float(self.fit_["sigma2"]) * chi2.ppf(0.99, len(new)) / len(new)
        return self.clone().fit(y, ds) if np.mean(np.square(new)) > limit else updated

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        from statsforecast.ets import forecast_ets

        found = forecast_ets(self.fit_, horizon, level=list(levels) or None)
        mean = np.asarray(found["mean"], dtype=float)
        intervals = {
            level: (
                np.asarray(found[f"lo-{level}"], dtype=float),
                np.asarray(found[f"hi-{level}"], dtype=float),
            )
            for level in levels
        }
        return Prediction(mean, intervals)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        mean = self._predict(horizon, ()).mean
        shocks = rng.normal(0.0, np.sqrt(self.fit_["sigma2"]), size=(n_paths, horizon))
        # Step h carries its own shock and c_j of the shock j steps before it.
        weights = np.concatenate([[1.0], _impulse(self.fit_, horizon)])
        steps = np.arange(horizon)
        lags = steps[:, None] - steps[None, :]
        spread = np.where(lags >= 0, weights[np.clip(lags, 0, None)], 0.0)
        return mean + shocks @ spread.T


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
    chosen_: ETS

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
            score = candidate.aicc
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
