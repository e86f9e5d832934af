"""The Theta method (Assimakopoulos & Nikolopoulos, 2000) through statsmodels."""

from __future__ import annotations

import warnings

import numpy as np

from capforecast.forecast.base import Forecaster, Prediction


class Theta(Forecaster):
    """Standard Theta: SES with drift equal to half the linear trend, on data that is
    seasonally adjusted when a seasonality test (90%) says so.

    Sample paths simulate an integrated moving-average error process with the variance
    statsmodels gives its prediction intervals at step ``h``,
    ``σ² (1 + (h-1)(1 + (α-1)²))``, so path quantiles agree with the intervals.

    Examples
    --------
    >>> t = np.arange(60, dtype=float)
    >>> bool((Theta().fit(10 + t).predict(3).mean > 69).all())
    True
    """

    min_length = 4

    def __init__(self, season_length: int = 1) -> None:
        self.season_length = season_length

    def _fit(self, y: np.ndarray) -> None:
        from statsmodels.tsa.forecasting.theta import ThetaModel

        period = self.season_length if len(y) >= 2 * self.season_length + 2 else 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.result_ = ThetaModel(
                y, period=period, deseasonalize=period > 1, method="additive"
            ).fit()
            # sigma2 is computed lazily by another (noisy) fit: keep it inside the filter.
            self.alpha_ = float(self.result_.params["alpha"])
            self.sigma_ = float(np.sqrt(self.result_.sigma2))
        if not (np.isfinite(self.alpha_) and np.isfinite(self.sigma_)):
            raise ValueError("Theta fit produced non-finite parameters")

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mean = np.asarray(self.result_.forecast(horizon), dtype=float)
            intervals = {}
            for level in levels:
                frame = self.result_.prediction_intervals(horizon, alpha=1 - level / 100)
                intervals[level] = (
                    frame["lower"].to_numpy(dtype=float),
                    frame["upper"].to_numpy(dtype=float),
                )
        return Prediction(mean, intervals)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        mean = self._predict(horizon, ()).mean
        shocks = rng.normal(0.0, self.sigma_, size=(n_paths, horizon))
        carried = np.zeros_like(shocks)
        weight = np.sqrt(1.0 + (self.alpha_ - 1.0) ** 2)
        carried[:, 1:] = weight * shocks[:, :-1].cumsum(axis=1)
        return mean[None, :] + shocks + carried
