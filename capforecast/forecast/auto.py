"""``model="auto"``: per series, the naive forecast or an ensemble, whichever backtests best."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from capforecast.core.errors import FitError, ParameterError
from capforecast.forecast.base import Forecaster, Prediction
from capforecast.forecast.baselines import Naive, SeasonalNaive, _Repeating, past_errors
from capforecast.forecast.conformal import Calibration
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
    they need no fitting, so they are judged on the whole history, not on the few backtest
    windows that one outage can decide. ``auto`` only departs from the benchmark when the
    ensemble has backtested at least ``margin`` (2%) better on this very series: on
    step-like or bursty series a small edge in a short backtest is noise. When no window
    can be scored (a short history, or a constant one, whose MASE is undefined) it keeps
    the naive forecast. The winner is refitted on the whole series.

    ``candidates`` are forecaster instances with different names (default: ``Naive``,
    ``SeasonalNaive``, ``Theta`` and ``AutoETS`` of ``season_length``); the naive ones
    (``Naive``, ``SeasonalNaive``) are the benchmarks, the others the richer models.
    ``scores_`` is keyed by their names, and ``"Ensemble"`` for their combination.

    With ``calibrate=True`` the intervals are conformalised on the backtest errors of the
    chosen model (:class:`~capforecast.forecast.conformal.Calibration`; at least
    ``MIN_SCORES`` of them, else the native intervals are kept). It is off by default:
    on M4 Weekly the backtest windows understate the errors of the test weeks (see
    ``docs/forecasting.md``).

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
            self.calibration_ = (
                Calibration.of(y, starts, backtests[name])
                if self.calibrate and name in backtests
                else None
            )
            return
        raise FitError("no candidate of auto could be fitted")

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        if self.calibration_ is None:
            return self.chosen_._predict(horizon, levels)
        return self.calibration_.predict(self.chosen_, horizon, levels)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        if self.calibration_ is None:
            return self.chosen_._paths(horizon, n_paths, rng)
        return self.calibration_.paths(self.chosen_, horizon, n_paths, rng)


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
