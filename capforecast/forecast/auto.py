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

    Every candidate is fitted on the whole series, then backtested: the series is cut at
    ``n_windows`` origins ``horizon`` steps apart (the last one ``horizon`` steps before
    its end), the candidate is refitted before each origin (AutoETS keeping the
    specification it chose on the whole series, see
    :func:`~capforecast.forecast.selection.rolling_predictions`) and scored on the
    following ``horizon`` steps. The richer candidates (Theta, AutoETS by default) are
    combined with weights proportional to the inverse of their MASE, and the combination
    is scored on the same windows (``ensemble=False`` scores them one by one instead).
    When AutoETS's likelihood prefers, on the whole series, a trend that does not damp,
    ``auto`` takes AutoETS: the flat naive forecasts and Theta's half trend (its forecast
    grows at half the fitted slope) are the wrong shape for a trend the whole history
    says persists, and a few backtest windows do not overrule that evidence.

    The benchmark is the naive or the seasonal naive forecast, whichever has the smaller
    mean absolute ``horizon``-step error from every origin of the history (``benchmark_``):
    they need no fitting, so they are judged on the whole history, not on the few backtest
    windows that one outage can decide. Unless the trend persists, ``auto`` only departs
    from the benchmark when the ensemble has backtested at least ``margin`` (2%) better
    on this very series: on step-like or bursty series a small edge in a short backtest
    is noise. When no window can be scored (a short history, or a constant one, whose
    MASE is undefined) it keeps the naive forecast.

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
    A steady trend: AutoETS finds it undamped, and forecasts alone.

    >>> t = np.arange(120, dtype=float)
    >>> noise = np.random.default_rng(1).normal(0, 4, 120)
    >>> model = Auto(horizon=8).fit(100 + 3 * t + noise)
    >>> model.chosen_.name, sorted(model.scores_)
    ('AutoETS', ['AutoETS', 'Naive', 'SeasonalNaive', 'Theta'])

    Growth that slows down: Theta and AutoETS combined.

    >>> slowing = 100 + 30 * np.log1p(t) + noise
    >>> Auto(horizon=8).fit(slowing).chosen_.name
    'Ensemble'
    >>> from capforecast.forecast.theta import Theta
    >>> own = Auto(horizon=8, candidates=[Naive(), Theta(), Theta(alias="theta_2")])
    >>> sorted(own.fit(slowing).scores_)
    ['Ensemble', 'Naive', 'Theta', 'theta_2']
    """

    min_length = 4

    def __init__(
        self,
        season_length: int = 1,
        horizon: int | None = None,
        n_windows: int = 5,
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
        levels = (80,) if self.calibrate else ()  # calibration scales the 80% interval
        backtested = fit_and_backtest(candidates, y, ds, starts, horizon, levels)
        if not backtested:
            raise FitError("no candidate of auto could be fitted")
        fitted = {model.name: model for model, _ in backtested}
        scored = {
            model.name: (found, backtest_mase(y, starts, found))
            for model, found in backtested
            if found
        }
        backtests = {name: found for name, (found, score) in scored.items() if np.isfinite(score)}
        scores = {name: score for name, (_, score) in scored.items() if np.isfinite(score)}
        by_name = {c.name: c for c in candidates}
        simple = [c for c in candidates if is_simple(c) and c.name in scores]
        benchmark = _benchmark(y, horizon, simple)
        richer = [name for name in backtests if not is_simple(by_name[name])]
        trend = next((name for name in richer if _persistent_trend(fitted[name])), None)
        combined = self.ensemble and len(richer) > 1 and trend is None
        if combined:
            weights = inverse_score_weights([scores[name] for name in richer])
            fitted[ENSEMBLE] = Ensemble.of([fitted[name] for name in richer], weights)
            backtests[ENSEMBLE] = [
                combine(list(window), weights)
                for window in zip(*(backtests[name] for name in richer), strict=True)
            ]
            scores[ENSEMBLE] = backtest_mase(y, starts, backtests[ENSEMBLE])
        self.scores_, self.benchmark_ = scores, benchmark
        # The benchmark, and the ensemble (or each richer candidate).
        options = [*([benchmark] if benchmark else []), *([ENSEMBLE] if combined else richer)]
        order = [*by_name, ENSEMBLE]
        best = min(options, key=lambda name: (scores[name], order.index(name)), default=None)
        # A richer model must beat the benchmark by a margin to be chosen.
        if (
            best is not None
            and benchmark is not None
            and scores[best] > (1 - self.margin) * scores[benchmark]
        ):
            best = benchmark
        # No window could be scored (a short or constant history): without evidence, the
        # first naive candidate that fits (the naive forecast by default).
        fallback = next((n for n in fitted if is_simple(by_name[n])), next(iter(fitted)))
        # A persistent trend wins alone: a few backtest windows do not overrule the whole
        # history.
        name = trend if trend is not None else best if best is not None else fallback
        self.chosen_ = fitted[name]
        self.calibration_ = (
            Calibration.of(y, starts, backtests[name])
            if self.calibrate and name in backtests
            else None
        )

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        if self.calibration_ is None:
            return self.chosen_._predict(horizon, levels)
        return self.calibration_.predict(self.chosen_, horizon, levels)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        if self.calibration_ is None:
            return self.chosen_._paths(horizon, n_paths, rng)
        return self.calibration_.paths(self.chosen_, horizon, n_paths, rng)


def _persistent_trend(model: Forecaster) -> bool:
    """Whether ``model`` is an AutoETS that chose, on the whole series, a trend that does
    not damp."""
    return (
        isinstance(model, AutoETS)
        and model.chosen_.trend is not None
        and not model.chosen_.damped_trend
    )


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
