"""``model="auto"``: per series, the naive forecast or an ensemble, whichever backtests best."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from capforecast.core.errors import FitError, ParameterError
from capforecast.forecast.base import Forecaster, Prediction, z_score
from capforecast.forecast.baselines import Naive, SeasonalNaive, _Repeating, past_errors
from capforecast.forecast.ensemble import Ensemble, default_members
from capforecast.forecast.selection import (
    backtest_mase,
    check_forecasters,
    combine,
    default_horizon,
    inverse_score_weights,
    origins,
    rolling_predictions,
)

#: Fewest backtest errors that calibrate the intervals of ``auto``.
MIN_SCORES = 10

#: The name of the ensemble of the richer candidates in ``scores_``.
ENSEMBLE = "Ensemble"


def default_candidates(season_length: int) -> list[Forecaster]:
    """The candidates ``auto`` chooses from, cheapest first (ties go to the earlier one):
    the naive and seasonal naive forecasts, taken as they are, and the default ensemble's
    members. Drift and window average are left out: on M4 Weekly they win backtests by
    chance and bring intervals that do not widen enough (``benchmarks/m4.py``)."""
    simple = [Naive(), SeasonalNaive(season_length=season_length)]
    return [*simple, *default_members(season_length)]


def is_simple(model: Forecaster) -> bool:
    """Whether ``model`` is a naive forecast, which a richer candidate must beat by
    ``margin`` to be chosen."""
    return isinstance(model, _Repeating)


class Auto(Forecaster):
    """Choose, per series, between the naive forecasts and an ensemble of richer models,
    by rolling-origin MASE.

    The series is cut at ``n_windows`` origins ``horizon`` steps apart (the last one
    ``horizon`` steps before its end); every candidate is fitted before each origin and
    scored on the following ``horizon`` steps. The richer candidates (Theta, AutoETS by
    default) are combined with weights proportional to the inverse of their MASE, and the
    combination is scored on the same windows (``ensemble=False`` scores them one by
    one instead).

    The benchmark is the naive or the seasonal naive forecast, whichever has the smaller
    mean absolute ``horizon``-step error from every origin of the history (``benchmark_``):
    they need no fitting, so they are judged on the whole history, not on two windows
    that one outage can decide. ``auto`` only departs from the benchmark when the
    ensemble has backtested at least ``margin`` (2%) better on this very series: on
    step-like or bursty series a small edge in a short backtest is noise. When no window
    can be scored (a short history, or a constant one, whose MASE is undefined) it keeps
    the naive forecast. The winner is refitted on the whole series.

    ``candidates`` are forecaster instances with different names (default: ``Naive``,
    ``SeasonalNaive``, ``Theta`` and ``AutoETS`` of ``season_length``); the naive ones
    (``Naive``, ``SeasonalNaive``) are the benchmarks, the others the richer models.
    ``scores_`` is keyed by their names, and ``"Ensemble"`` for their combination.

    With ``calibrate=True`` the intervals are conformalised: the backtest errors
    of the chosen model, divided by the spread of its own 80% interval, are the
    non-conformity scores, and the interval at level ``L`` is ``mean ± q_L · spread``
    with ``q_L`` their split-conformal quantile. Sample paths are widened by the same
    factor at 80%. At least ``MIN_SCORES`` scores are needed, else the native intervals
    are kept. It is off by default: on M4 Weekly the two backtest windows understate
    the errors of the test weeks (see ``docs/forecasting.md``).

    Examples
    --------
    >>> t = np.arange(120, dtype=float)
    >>> model = Auto(horizon=8).fit(100 + 3 * t)
    >>> model.chosen_.name, sorted(model.scores_)
    ('Ensemble', ['AutoETS', 'Ensemble', 'Naive', 'SeasonalNaive', 'Theta'])
    >>> from capforecast.forecast.theta import Theta
    >>> own = Auto(horizon=8, candidates=[Naive(), Theta(), Theta(alias="theta_2")])
    >>> sorted(own.fit(100 + 3 * t).scores_)
    ['Ensemble', 'Naive', 'Theta', 'theta_2']
    """

    min_length = 4

    def __init__(
        self,
        season_length: int = 1,
        horizon: int | None = None,
        n_windows: int = 3,
        candidates: Sequence[Forecaster] | None = None,
        ensemble: bool = True,
        calibrate: bool = False,
        margin: float = 0.02,
        alias: str | None = None,
    ) -> None:
        self.alias = alias
        self.season_length = season_length
        self.horizon = horizon
        self.n_windows = n_windows
        self.candidates = candidates
        self.ensemble = ensemble
        self.calibrate = calibrate
        self.margin = margin

    def _fit(self, y: np.ndarray) -> None:
        self._fit_dates(y, None)

    def _fit_dates(self, y: np.ndarray, ds: pd.DatetimeIndex | None) -> None:
        candidates = (
            default_candidates(self.season_length)
            if self.candidates is None
            else check_forecasters([*self.candidates], "candidates of Auto")
        )
        if not candidates:
            raise ParameterError("Auto needs at least one candidate.")
        if ENSEMBLE in {c.name for c in candidates}:
            raise ParameterError(
                f"'{ENSEMBLE}' names the combination of Auto's richer candidates; give the "
                "candidate of that name another alias."
            )
        horizon = default_horizon(self.horizon, self.season_length)
        starts = origins(len(y), horizon, self.n_windows)
        backtests: dict[str, list[Prediction]] = {}
        for model in candidates:
            found = rolling_predictions(model, y, ds, starts, horizon)
            if found and np.isfinite(backtest_mase(y, starts, found)):
                backtests[model.name] = found
        scores = {name: backtest_mase(y, starts, found) for name, found in backtests.items()}
        by_name = {c.name: c for c in candidates}
        simple = [c for c in candidates if is_simple(c) and c.name in scores]
        benchmark = _benchmark(y, horizon, simple)
        richer = [name for name in backtests if not is_simple(by_name[name])]
        weights = inverse_score_weights([scores[name] for name in richer]) if richer else None
        if self.ensemble and weights is not None:
            combined = [
                combine(list(window), weights)
                for window in zip(*(backtests[name] for name in richer), strict=True)
            ]
            backtests[ENSEMBLE] = combined
            scores[ENSEMBLE] = backtest_mase(y, starts, combined)
        self.scores_, self.benchmark_ = scores, benchmark
        # The benchmark, and the ensemble (or, without it, each richer candidate).
        options = [
            n
            for n in scores
            if n == benchmark
            or (n in richer and not self.ensemble)
            or (n == ENSEMBLE and self.ensemble)
        ]
        order = [*by_name, ENSEMBLE]
        ranking = sorted(options, key=lambda name: (scores[name], order.index(name)))
        # A richer model must beat the benchmark by a margin to be chosen.
        if (
            benchmark is not None
            and ranking[0] != benchmark
            and scores[ranking[0]] > (1 - self.margin) * scores[benchmark]
        ):
            ranking.insert(0, ranking.pop(ranking.index(benchmark)))
        # No window could be scored (a short or constant history): without evidence, the
        # first naive candidate (the naive forecast by default).
        fallback = next((c.name for c in candidates if is_simple(c)), candidates[0].name)
        members = [by_name[n] for n in richer]
        for name in ranking or [fallback]:
            try:
                self.chosen_ = _refit(by_name.get(name), members, weights, y, ds)
            except FitError:
                continue
            scores_ = _conformity(y, starts, backtests[name]) if name in backtests else np.empty(0)
            self.conformity_ = scores_ if self.calibrate and len(scores_) >= MIN_SCORES else None
            return
        raise FitError("no candidate of auto could be fitted")

    def _quantile(self, level: int) -> float:
        """Split-conformal quantile: the ``ceil((n+1) L)``-th smallest score, or ``inf``
        when there are too few scores for the level ``L``."""
        assert self.conformity_ is not None
        n = len(self.conformity_)
        rank = int(np.ceil((n + 1) * level / 100))
        return float(np.sort(self.conformity_)[rank - 1]) if rank <= n else float("inf")

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        if self.conformity_ is None:
            return self.chosen_._predict(horizon, levels)
        raw = self.chosen_._predict(horizon, (80, *levels))
        spread = _spread(raw)
        intervals = {}
        for level in levels:
            q = self._quantile(level)
            # Too few scores for this level: keep the model's own interval.
            intervals[level] = (
                (raw.mean - q * spread, raw.mean + q * spread)
                if np.isfinite(q)
                else raw.intervals[level]
            )
        return Prediction(raw.mean, intervals)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        paths = self.chosen_._paths(horizon, n_paths, rng)
        if self.conformity_ is None:
            return paths
        q80 = self._quantile(80)
        if not np.isfinite(q80):
            return paths
        mean = self.chosen_._predict(horizon, ()).mean
        return mean + (paths - mean) * (q80 / z_score(80))


def _refit(
    chosen: Forecaster | None,
    richer: list[Forecaster],
    weights: np.ndarray | None,
    y: np.ndarray,
    ds: pd.DatetimeIndex | None,
) -> Forecaster:
    """The chosen candidate (``None``: the ensemble of the richer ones, with ``weights``)
    fitted on the whole series."""
    if chosen is not None:
        return chosen.clone().fit(y, ds)
    assert weights is not None  # the ensemble is an option only when it was scored
    fitted, kept = [], []
    for member, weight in zip(richer, weights, strict=True):
        try:
            fitted.append(member.clone().fit(y, ds))
        except FitError:
            continue
        kept.append(weight)
    if not fitted:
        raise FitError("no member of the ensemble could be fitted")
    return Ensemble.of(fitted, np.asarray(kept))


def _benchmark(y: np.ndarray, horizon: int, simple: list[Forecaster]) -> str | None:
    """The name of the naive forecast a richer model has to beat: of ``simple``, the one
    with the smallest mean absolute ``horizon``-step error from every past origin (they
    need no fitting, so the whole history scores them, not only the backtest windows)."""
    lags = [model._lag for model in simple if isinstance(model, _Repeating)]
    if len(set(lags)) < 2:
        return simple[0].name if simple else None
    longest = max(lags)
    errors = {}
    for model, lag in zip(simple, lags, strict=True):
        found = past_errors(y, horizon, lag)[longest - lag :]  # the same origins for all
        if np.isfinite(found).any():
            errors[model.name] = float(np.nanmean(np.abs(found)))
    if not errors:
        return simple[0].name
    return min(errors, key=lambda name: (errors[name], name))


def _conformity(y: np.ndarray, starts: list[int], predictions: list[Prediction]) -> np.ndarray:
    """Backtest errors divided by the spread of the forecast's own 80% interval."""
    found = []
    for origin, prediction in zip(starts, predictions, strict=True):
        actual = y[origin : origin + len(prediction.mean)]
        spread = _spread(prediction)
        usable = spread > 0
        error = np.abs(actual - np.clip(prediction.mean, 0.0, None))
        found.append(error[usable] / spread[usable])
    return np.concatenate(found) if found else np.empty(0)


def _spread(prediction: Prediction) -> np.ndarray:
    """The standard deviation a model's 80% interval implies, step by step."""
    lo, hi = prediction.intervals[80]
    return (hi - lo) / (2 * z_score(80))
