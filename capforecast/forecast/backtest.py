"""Rolling-origin backtests, their scores, and per-series model selection.

:func:`cross_validation` cuts every series at ``n_windows`` origins ``step`` apart, the
last one ``horizon`` steps before its end, fits each model on the data before the cutoff
and forecasts ``horizon`` steps. The result is the forecast table of docs/data.md with
``cutoff`` and ``y`` added. :func:`evaluate` scores it per series and model, and
:func:`select_models` picks the best model of each series.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from capforecast.core.errors import ParameterError
from capforecast.core.history import GapPolicy
from capforecast.core.limits import LIMITS, check
from capforecast.forecast import metrics
from capforecast.forecast.base import Forecaster, check_levels
from capforecast.forecast.engine import (
    Fallback,
    Series,
    build_estimators,
    check_size,
    fit_or_fallback,
    prediction_columns,
    prepare,
    run_tasks,
    series_arrays,
)

#: Metrics where lower is better, as reported by :func:`evaluate`.
LOWER_IS_BETTER = ("mae", "rmse", "smape", "mase", "rmsse", "scaled_crps")


def cutoffs(length: int, horizon: int, n_windows: int, step: int) -> list[int]:
    """Positions (numbers of training observations) of the backtest origins.

    Examples
    --------
    >>> cutoffs(100, horizon=10, n_windows=3, step=5)
    [80, 85, 90]
    """
    last = length - horizon
    return [last - step * (n_windows - 1 - i) for i in range(n_windows)]


def cross_validation(
    history: pd.DataFrame,
    horizon: int,
    *,
    models: Sequence[str | Forecaster] = ("ets",),
    n_windows: int = 3,
    step: int | None = None,
    refit: bool = True,
    levels: Sequence[int] = (80, 95),
    freq: str | None = None,
    season_length: int | None = None,
    gaps: GapPolicy = "error",
    n_jobs: int | None = None,
    client: Any = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Rolling-origin backtest of every model on every series.

    Parameters
    ----------
    history
        A validated history (``unique_id, ds, y``).
    horizon
        Steps forecast from each cutoff.
    models
        Registry names or forecaster instances.
    n_windows, step
        Number of origins and the distance between them (default ``horizon``).
    refit
        Refit the models at every origin (``True``), or fit once at the first origin and
        only update the state with the new observations afterwards (``False``; models
        without an update rule are refitted).
    levels, freq, season_length, gaps, n_jobs, client, progress
        As in :func:`~capforecast.forecast.engine.forecast`.

    Returns
    -------
    pandas.DataFrame
        ``unique_id, ds, cutoff, model, y, mean, lo-80, hi-80, ...``; series too short for
        the first window are left out and listed in ``attrs["skipped"]``.

    Examples
    --------
    >>> ds = pd.date_range("2026-01-01", periods=30, freq="D")
    >>> history = pd.DataFrame({"unique_id": "a", "ds": ds, "y": np.arange(30.0)})
    >>> table = cross_validation(history, 5, models=["naive"], n_windows=2, freq="D",
    ...                          levels=[80])
    >>> table.groupby("cutoff").size().to_dict()
    {Timestamp('2026-01-20 00:00:00'): 5, Timestamp('2026-01-25 00:00:00'): 5}
    """
    if horizon < 1 or n_windows < 1:
        raise ParameterError(
            f"'horizon' and 'n_windows' must be integers >= 1. Got {horizon}, {n_windows}."
        )
    step = horizon if step is None else step
    if step < 1:
        raise ParameterError(f"The 'step' parameter must be an integer >= 1. Got {step}.")
    levels = check_levels(list(levels))
    models = list(dict.fromkeys(models))  # a model named twice is fitted once
    check("backtest windows", n_windows, LIMITS.backtest_windows)
    per_step = len(models) * (1 + 2 * len(levels))
    check_size(history["unique_id"].nunique(), horizon * n_windows, per_step)
    panel = prepare(history, freq, season_length, gaps)
    estimators = build_estimators(models, panel.season_length, horizon)
    task = partial(
        _backtest_task,
        estimators=estimators,
        horizon=horizon,
        n_windows=n_windows,
        step=step,
        refit=refit,
        levels=levels,
        season=panel.season_length,
    )
    names = ", ".join(e.name for e in estimators)
    per_series, fallbacks = run_tasks(
        task, panel, n_jobs=n_jobs, client=client, progress=progress,
        what=f"backtest, {n_windows} windows ({names})",
    )  # fmt: skip
    frames = [frame for found in per_series for frame in found]
    skipped = [s.unique_id for s, found in zip(panel.series, per_series, strict=True) if not found]
    if not frames:
        raise ParameterError(
            f"No series is long enough for {n_windows} windows of horizon {horizon} "
            f"and step {step}."
        )
    table = pd.concat(frames, ignore_index=True)
    table.attrs.update(
        fallbacks=fallbacks, skipped=skipped, freq=panel.freq, season_length=panel.season_length
    )
    return table


def _backtest_task(
    series: Series,
    *,
    estimators: list[Forecaster],
    horizon: int,
    n_windows: int,
    step: int,
    refit: bool,
    levels: tuple[int, ...],
    season: int,
) -> tuple[list[pd.DataFrame], list[Fallback]]:
    fallbacks: list[Fallback] = []
    y, stamps, uid = series.y, series.stamps, series.unique_id
    origins = cutoffs(len(y), horizon, n_windows, step)
    if origins[0] < 2:
        return [], fallbacks
    frames = []
    for estimator in estimators:
        fitted: Forecaster | None = None
        for origin in origins:
            if fitted is None or refit:
                fitted = fit_or_fallback(estimator, series, origin, season, fallbacks)
            else:
                fitted = fitted.update(y[:origin], stamps[:origin])
            frames.append(
                pd.DataFrame(
                    {
                        "unique_id": uid,
                        "ds": stamps[origin : origin + horizon],
                        "cutoff": stamps[origin - 1],
                        "model": estimator.name,
                        "y": y[origin : origin + horizon],
                        **prediction_columns(fitted.predict(horizon, levels), levels),
                    }
                )
            )
    return frames, fallbacks


def evaluate(
    backtest: pd.DataFrame,
    history: pd.DataFrame,
    *,
    season_length: int = 1,
) -> pd.DataFrame:
    """Score a backtest per series and model, averaged over its cutoffs.

    Scaled metrics (MASE, RMSSE) use the in-sample naive error of lag ``season_length``
    on the history before each cutoff (M4 uses lag 1). Interval metrics are reported for
    every level in the table: ``coverage-80``, ``width-80``, the interval (Winkler) score
    ``winkler-80`` in units of ``y``, and ``msis-80``, the same scaled as MASE is (M4).

    Returns
    -------
    pandas.DataFrame
        ``unique_id, model, mae, rmse, smape, bias, mase, rmsse, scaled_crps,
        coverage-<level>, width-<level>, winkler-<level>, msis-<level>``.
    """
    levels = sorted(int(c.split("-")[1]) for c in backtest.columns if c.startswith("lo-"))
    quantile_columns = metrics.interval_quantiles(levels)
    actuals = {uid: (pd.DatetimeIndex(s), y) for uid, s, y in series_arrays(history)}
    rows = []
    for (uid, model, cutoff), window in backtest.groupby(
        ["unique_id", "model", "cutoff"], sort=True
    ):
        stamps, y_all = actuals[str(uid)]
        insample = y_all[stamps <= cutoff]
        y = window["y"].to_numpy(dtype=float)
        y_hat = window["mean"].to_numpy(dtype=float)
        row: dict[str, object] = {"unique_id": uid, "model": model, "cutoff": cutoff}
        for name, metric in metrics.POINT_METRICS.items():
            row[name] = metric(y, y_hat)
        row["mase"] = metrics.mase(y, y_hat, insample, season_length)
        row["rmsse"] = metrics.rmsse(y, y_hat, insample, season_length)
        if levels:
            quantiles = np.vstack([window[c].to_numpy(dtype=float) for c, _ in quantile_columns])
            row["scaled_crps"] = metrics.scaled_crps(y, quantiles, [q for _, q in quantile_columns])
        for level in levels:
            lo = window[f"lo-{level}"].to_numpy(dtype=float)
            hi = window[f"hi-{level}"].to_numpy(dtype=float)
            row[f"coverage-{level}"] = metrics.coverage(y, lo, hi)
            row[f"width-{level}"] = metrics.width(lo, hi)
            row[f"winkler-{level}"] = metrics.winkler(y, lo, hi, level)
            row[f"msis-{level}"] = metrics.msis(y, lo, hi, level, insample, season_length)
        rows.append(row)
    scores = pd.DataFrame(rows)
    return (
        scores.drop(columns="cutoff")
        .groupby(["unique_id", "model"], sort=True)
        .mean()
        .reset_index()
    )


def select_models(scores: pd.DataFrame, *, metric: str = "mase") -> pd.Series:
    """The best model of each series by ``metric`` (lower is better; then MAE, then name).

    Examples
    --------
    >>> scores = pd.DataFrame({"unique_id": ["a", "a", "b", "b"],
    ...                        "model": ["Naive", "Theta", "Naive", "Theta"],
    ...                        "mase": [1.0, 0.8, 0.7, np.nan], "mae": [3.0, 2.0, 1.0, 0.5]})
    >>> select_models(scores).to_dict()
    {'a': 'Theta', 'b': 'Naive'}
    """
    if metric not in LOWER_IS_BETTER:
        raise ParameterError(f"Cannot select by '{metric}'; choose one of {list(LOWER_IS_BETTER)}.")
    # A series whose metric is undefined for every model (e.g. MASE of a constant history)
    # is decided by MAE.
    ranked = scores.assign(_missing=scores[metric].isna()).sort_values(
        ["unique_id", "_missing", metric, "mae", "model"], kind="stable"
    )
    return ranked.groupby("unique_id", sort=True)["model"].first().rename("model")
