"""The standard Theta method, as benchmarked in the M4 competition.

Assimakopoulos & Nikolopoulos (2000), in the form of Hyndman & Billah (2003): simple
exponential smoothing with a drift of half the slope of the linear trend. As in M4, a
series is first seasonally adjusted (classical multiplicative decomposition) when a 90%
autocorrelation test finds seasonality at lag ``season_length``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.signal import lfilter

from capforecast.forecast.base import Forecaster, Prediction, normal_prediction


def seasonality_test(y: np.ndarray, m: int) -> bool:
    """M4's 90% test: is the autocorrelation at lag ``m`` significant?

    Examples
    --------
    >>> t = np.arange(120)
    >>> seasonality_test(10 + np.sin(2 * np.pi * t / 12), 12)
    True
    """
    if m <= 1 or len(y) < 3 * m:
        return False
    centred = y - y.mean()
    denominator = float(centred @ centred)
    if denominator == 0:
        return False
    acf = np.array([centred[k:] @ centred[: len(y) - k] for k in range(m + 1)]) / denominator
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(acf[1:m] ** 2)) / len(y))
    return bool(abs(acf[m]) > limit)


def _seasonal_indices(y: np.ndarray, m: int) -> np.ndarray:
    """Classical multiplicative seasonal indices (mean 1), aligned with ``y``'s positions."""
    kernel = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.convolve(y, kernel, mode="valid")
    offset = (len(kernel) - 1) // 2
    ratios = y[offset : offset + len(trend)] / trend
    positions = (np.arange(len(trend)) + offset) % m
    indices = np.array([ratios[positions == p].mean() for p in range(m)])
    return indices / indices.mean()


def _ses_levels(y: np.ndarray, alpha: float) -> np.ndarray:
    """Levels ``ℓ_t = α y_t + (1-α) ℓ_{t-1}`` with ``ℓ_0 = y_0``."""
    levels, _ = lfilter([alpha], [1.0, alpha - 1.0], y, zi=[(1.0 - alpha) * y[0]])
    return np.asarray(levels)


def _ses_errors(y: np.ndarray, alpha: float) -> np.ndarray:
    levels = _ses_levels(y, alpha)
    return y[1:] - levels[:-1]


class Theta(Forecaster):
    """Standard Theta (θ = 2): SES plus half the linear trend; M4's benchmark method.

    Intervals use the SES variance ``σ² (1 + (h-1) α²)``, scaled by the seasonal index;
    sample paths simulate the same SES error process.

    Examples
    --------
    >>> t = np.arange(60, dtype=float)
    >>> bool((Theta().fit(10 + t).predict(3).mean > 69).all())
    True
    """

    min_length = 4

    def __init__(self, season_length: int = 1, alias: str | None = None) -> None:
        self.alias = alias
        self.season_length = season_length

    def _fit(self, y: np.ndarray) -> None:
        m = self.season_length
        seasonal = m > 1 and bool((y > 0).all()) and seasonality_test(y, m)
        self.indices_ = _seasonal_indices(y, m) if seasonal else np.ones(max(m, 1))
        adjusted = y / self.indices_[np.arange(len(y)) % len(self.indices_)]
        result = minimize_scalar(
            lambda a: float(np.sum(_ses_errors(adjusted, a) ** 2)),
            bounds=(0.01, 0.99),
            method="bounded",
        )
        self.alpha_ = float(result.x)
        self.level_ = float(_ses_levels(adjusted, self.alpha_)[-1])
        t = np.arange(1, len(y) + 1, dtype=float)
        self.slope_ = float(np.polyfit(t, adjusted, 1)[0])
        errors = _ses_errors(adjusted, self.alpha_)
        self.sigma_ = float(np.std(errors, ddof=1)) if len(errors) > 1 else 0.0
        self.n_ = len(y)

    def _season(self, horizon: int) -> np.ndarray:
        return self.indices_[(self.n_ + np.arange(horizon)) % len(self.indices_)]

    def _mean(self, horizon: int) -> np.ndarray:
        h = np.arange(1, horizon + 1, dtype=float)
        a = self.alpha_
        drift = 0.5 * self.slope_ * (h - 1 + 1 / a - (1 - a) ** self.n_ / a)
        return (self.level_ + drift) * self._season(horizon)

    def _spread(self, horizon: int) -> np.ndarray:
        h = np.arange(1, horizon + 1, dtype=float)
        return self.sigma_ * np.sqrt(1 + (h - 1) * self.alpha_**2) * self._season(horizon)

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        return normal_prediction(self._mean(horizon), self._spread(horizon), levels)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        shocks = rng.normal(0.0, self.sigma_, size=(n_paths, horizon))
        carried = np.zeros_like(shocks)
        carried[:, 1:] = self.alpha_ * shocks[:, :-1].cumsum(axis=1)
        return self._mean(horizon) + (shocks + carried) * self._season(horizon)
