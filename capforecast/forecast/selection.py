"""What the models that choose by backtest share (``Ensemble``, ``Auto``): rolling
origins, backtest scores, inverse-score weights, the combination of forecasts, and the
check that the models of one run have different names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from capforecast.core.errors import FitError, ParameterError
from capforecast.core.limits import shown
from capforecast.forecast import metrics
from capforecast.forecast.base import Forecaster, Prediction, Selecting


def check_forecasters(models: Sequence[object], what: str) -> list[Forecaster]:
    """``models`` as forecasters with different names; a registry name or a repeated name
    is a :class:`ParameterError` saying how to mend it.

    Examples
    --------
    >>> from capforecast.forecast.baselines import Naive
    >>> [m.name for m in check_forecasters([Naive(), Naive(alias="naive_2")], "members")]
    ['Naive', 'naive_2']
    >>> check_forecasters([Naive(), Naive()], "members")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    ParameterError: Two members are named 'Naive'; give one an alias, e.g. Naive(alias=...).
    """
    found: list[Forecaster] = []
    for model in models:
        if not isinstance(model, Forecaster):
            hint = (
                " Registry names are for the command line, the API and scenario files "
                "(capforecast.forecast.make_model turns one into a forecaster)."
                if isinstance(model, str)
                else ""
            )
            raise ParameterError(
                f"The {what} must be forecaster instances, e.g. Theta(season_length=7); got "
                f"{shown(model)}.{hint}"
            )
        found.append(model)
    seen: set[str] = set()
    for model in found:
        if model.name in seen:
            kind = type(model).__name__
            raise ParameterError(
                f"Two {what} are named '{model.name}'; give one an alias, e.g. {kind}(alias=...)."
            )
        seen.add(model.name)
    return found


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
    levels: tuple[int, ...] = (),
) -> list[Prediction] | None:
    """Raw predictions (with intervals at ``levels``) of ``model``, fitted on the whole
    series already, before each origin; ``None`` when a fit fails (the model is then not
    scored).

    A selecting model (AutoETS, AutoARIMA) keeps the specification it chose on the whole
    series (choosing afresh only where the history before the first origin cannot fit
    it): choosing is most of its cost, and the choice barely moves between origins. The
    model is fitted before the first origin and advanced to the later ones
    (:meth:`Forecaster.advance`): ETS re-filters the new observations with its parameters
    and re-estimates them only where the new errors say they no longer hold (after a
    level shift: re-filtering alone misjudged AutoETS on the ``benchmarks/scale.py``
    panel, backtest MASE 0.678 against 0.644 refitted, 0.638 on the test days); the
    other models refit."""
    specification = model.chosen_ if isinstance(model, Selecting) else model
    found: list[Prediction] = []
    fitted: Forecaster | None = None
    for origin in starts:
        past = None if ds is None else ds[:origin]
        try:
            if fitted is not None:
                fitted = fitted.advance(y[:origin], past)
            else:
                try:
                    fitted = specification.clone().fit(y[:origin], past)
                except FitError:
                    if specification is model:
                        raise
                    fitted = model.clone().fit(y[:origin], past)
        except FitError:
            return None
        found.append(fitted._predict(horizon, levels))
    return found


def fit_and_backtest(
    models: Sequence[Forecaster],
    y: np.ndarray,
    ds: pd.DatetimeIndex | None,
    starts: Sequence[int],
    horizon: int,
    levels: tuple[int, ...] = (),
) -> list[tuple[Forecaster, list[Prediction] | None]]:
    """Each of ``models`` that fits the whole series, fitted there, with its
    :func:`rolling_predictions` (``None`` when a window cannot be fitted); models that
    cannot fit the whole series are left out."""
    found: list[tuple[Forecaster, list[Prediction] | None]] = []
    for model in models:
        try:
            fitted = model.clone().fit(y, ds)
        except FitError:
            continue
        found.append((fitted, rolling_predictions(fitted, y, ds, starts, horizon, levels)))
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
