"""Forecast accuracy and calibration metrics.

Point metrics take actuals ``y`` and forecasts ``y_hat`` (1-d arrays over the horizon);
scaled metrics also take the in-sample history ``insample`` and a season length ``m``
(M4 uses ``m = 1`` for MASE on every frequency). Probabilistic metrics take interval
bounds or quantiles. Definitions follow the M4 competition (sMAPE in percent) and Nixtla
``utilsforecast.losses`` (scaled CRPS after Rangapuram et al., 2021), which the tests
check against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

EPS = float(np.finfo(np.float64).eps)


def mae(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Mean absolute error.

    Examples
    --------
    >>> mae(np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    1.5
    """
    return float(np.mean(np.abs(y - y_hat)))


def rmse(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((y - y_hat) ** 2)))


def bias(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Mean of ``y_hat - y``: positive when the forecast is too high."""
    return float(np.mean(y_hat - y))


def smape(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Symmetric MAPE in percent, as in M4: ``200 · mean(|y - ŷ| / (|y| + |ŷ|))``.

    A step where both are 0 counts as 0.

    Examples
    --------
    >>> smape(np.array([100.0, 0.0]), np.array([110.0, 0.0]))
    4.761904761904762
    """
    denominator = np.abs(y) + np.abs(y_hat)
    ratio = np.divide(
        np.abs(y - y_hat), denominator, out=np.zeros_like(denominator), where=denominator > 0
    )
    return float(200.0 * np.mean(ratio))


def _naive_scale(insample: np.ndarray, m: int, power: int) -> float:
    if len(insample) <= m:
        return float("nan")
    return float(np.mean(np.abs(insample[m:] - insample[:-m]) ** power))


def mase(y: np.ndarray, y_hat: np.ndarray, insample: np.ndarray, m: int = 1) -> float:
    """MAE scaled by the in-sample MAE of the seasonal naive forecast of lag ``m``."""
    scale = _naive_scale(insample, m, 1)
    return float(np.mean(np.abs(y - y_hat)) / scale) if scale > 0 else float("nan")


def rmsse(y: np.ndarray, y_hat: np.ndarray, insample: np.ndarray, m: int = 1) -> float:
    """Root mean squared scaled error (M5): MSE over the in-sample naive MSE, rooted."""
    scale = _naive_scale(insample, m, 2)
    return float(np.sqrt(np.mean((y - y_hat) ** 2) / scale)) if scale > 0 else float("nan")


def pinball(y: np.ndarray, quantile: np.ndarray, q: float) -> float:
    """Mean pinball (quantile) loss of the forecast ``quantile`` at level ``q``.

    Examples
    --------
    >>> pinball(np.array([10.0]), np.array([8.0]), 0.9)
    1.8
    """
    diff = y - quantile
    return float(np.mean(np.maximum(q * diff, (q - 1.0) * diff)))


def scaled_crps(y: np.ndarray, quantiles: np.ndarray, levels: Sequence[float]) -> float:
    """Scaled CRPS from quantile forecasts: ``2 · mean pinball / mean |y|``.

    ``quantiles`` has one row per level in ``levels`` (probabilities in (0, 1)). NaN when
    every actual is 0 (utilsforecast divides by machine epsilon instead).
    """
    scale = float(np.mean(np.abs(y)))
    if scale == 0:
        return float("nan")  # undefined when every actual is 0
    loss = np.mean([pinball(y, row, q) for row, q in zip(quantiles, levels, strict=True)])
    return float(2.0 * loss / (scale + EPS))


def coverage(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Fraction of actuals inside ``[lo, hi]``."""
    return float(np.mean((y >= lo) & (y <= hi)))


def width(lo: np.ndarray, hi: np.ndarray) -> float:
    """Mean interval width."""
    return float(np.mean(hi - lo))


def winkler(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: int) -> float:
    """Mean interval (Winkler) score of the central ``level``% interval, in units of ``y``:
    its width, plus ``2 / alpha`` times how far each actual falls outside it
    (``alpha = 1 - level / 100``). Lower is better: a narrow interval that misses, and a
    wide one that always covers, both score badly.

    Examples
    --------
    >>> y, lo, hi = np.array([5.0, 12.0]), np.array([4.0, 4.0]), np.array([10.0, 10.0])
    >>> winkler(y, lo, hi, 80)  # widths 6 and 6; the second misses by 2: + 2 / 0.2 x 2
    16.0
    """
    alpha = 1.0 - level / 100.0
    below = np.clip(lo - y, 0.0, None)
    above = np.clip(y - hi, 0.0, None)
    return float(np.mean(hi - lo + 2.0 / alpha * (below + above)))


def msis(
    y: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: int, insample: np.ndarray, m: int = 1
) -> float:
    """Mean scaled interval score (M4): :func:`winkler` over the in-sample MAE of the
    seasonal naive forecast of lag ``m``, comparable across series like MASE."""
    scale = _naive_scale(insample, m, 1)
    return winkler(y, lo, hi, level) / scale if scale > 0 else float("nan")


PointMetric = Callable[[np.ndarray, np.ndarray], float]

#: Metrics that need only actuals and the point forecast.
POINT_METRICS: dict[str, PointMetric] = {
    "mae": mae,
    "rmse": rmse,
    "smape": smape,
    "bias": bias,
}


def interval_quantiles(levels: Sequence[int]) -> list[tuple[str, float]]:
    """The quantile columns and probabilities that central intervals at ``levels`` give.

    Examples
    --------
    >>> interval_quantiles([80])
    [('lo-80', 0.1), ('hi-80', 0.9)]
    """
    pairs = []
    for level in sorted(levels, reverse=True):
        pairs.append((f"lo-{level}", round(0.5 - level / 200, 10)))
    for level in sorted(levels):
        pairs.append((f"hi-{level}", round(0.5 + level / 200, 10)))
    return pairs
