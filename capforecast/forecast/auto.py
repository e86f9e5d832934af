"""``model="auto"``: per series, the candidate that backtests best."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from capforecast.forecast import metrics
from capforecast.forecast.base import Forecaster, Prediction, z_score

#: Naive forecasts that a richer candidate must beat by ``margin`` to be chosen.
SIMPLE = ("naive", "seasonal_naive")

#: Fewest backtest errors that calibrate the intervals of ``auto``.
MIN_SCORES = 10

#: Candidates ``auto`` chooses from, cheapest first (ties go to the earlier one). Drift and
#: window average are left out: on M4 Weekly they win backtests by chance and bring
#: intervals that do not widen enough (OWA 0.917 and 77% coverage at 80% with them,
#: 0.897 and 86% without; ``benchmarks/m4.py``).
AUTO_CANDIDATES = ("naive", "seasonal_naive", "theta", "auto_ets")


class Auto(Forecaster):
    """Choose, per series, the candidate with the lowest rolling-origin MASE.

    The series is cut at ``n_windows`` origins ``horizon`` steps apart (the last one
    ``horizon`` steps before its end); every candidate is fitted before each origin and
    scored on the following ``horizon`` steps; the winner is refitted on the whole series.
    Naive forecasts are candidates, and ``auto`` only departs from them when a richer
    model has backtested at least ``margin`` (2%) better on this very series.

    With ``calibrate=True`` the intervals are conformalised: the backtest errors
    of the chosen model, divided by the spread of its own 80% interval, are the
    non-conformity scores, and the interval at level ``L`` is ``mean ± q_L · spread``
    with ``q_L`` their split-conformal quantile. Selecting the model that backtested
    best makes its native intervals too narrow; this corrects that. Sample paths are
    widened by the same factor at 80%. At least ``MIN_SCORES`` scores are needed,
    else the native intervals are kept. It is off by default: on M4 Weekly the two
    backtest windows understate the errors of the test weeks, and coverage at 80% fell
    from 86% (native) to 76% (calibrated).

    Examples
    --------
    >>> t = np.arange(120, dtype=float)
    >>> model = Auto(horizon=8).fit(100 + 3 * t)
    >>> model.chosen_.name in ("Drift", "AutoETS", "Theta")
    True
    """

    min_length = 4

    def __init__(
        self,
        season_length: int = 1,
        horizon: int | None = None,
        n_windows: int = 2,
        candidates: Sequence[str] = AUTO_CANDIDATES,
        calibrate: bool = False,
        margin: float = 0.02,
    ) -> None:
        self.season_length = season_length
        self.horizon = horizon
        self.n_windows = n_windows
        self.candidates = candidates
        self.calibrate = calibrate
        self.margin = margin

    def _horizon(self) -> int:
        return self.horizon or max(2 * self.season_length, 4)

    def _fit(self, y: np.ndarray) -> None:
        from capforecast.forecast.backtest import cutoffs
        from capforecast.forecast.models import make_model

        horizon = self._horizon()
        origins = [o for o in cutoffs(len(y), horizon, self.n_windows, horizon) if o >= 4]
        scores: dict[str, float] = {}
        conformity: dict[str, np.ndarray] = {}
        for name in self.candidates:
            model = make_model(name, self.season_length)
            errors, normalised = [], []
            for origin in origins:
                try:
                    fitted = model.clone().fit(y[:origin])
                except (ValueError, np.linalg.LinAlgError):
                    break
                actual = y[origin : origin + horizon]
                raw = fitted._predict(horizon, (80,))
                forecast = np.clip(raw.mean, 0.0, None)
                errors.append(metrics.mase(actual, forecast, y[:origin], 1))
                spread = _spread(raw)
                usable = spread > 0
                normalised.append(np.abs(actual - forecast)[usable] / spread[usable])
            else:
                finite = [e for e in errors if np.isfinite(e)]
                if finite:
                    scores[name] = float(np.mean(finite))
                    conformity[name] = np.concatenate(normalised) if normalised else np.empty(0)
        self.scores_ = scores
        ranking = sorted(scores, key=lambda name: (scores[name], self.candidates.index(name)))
        simple = [n for n in ranking if n in SIMPLE]
        # A richer model must beat the best naive forecast by a margin to be chosen:
        # backtests are short, and on step-like or bursty series a small edge is noise.
        if (
            simple
            and ranking[0] not in SIMPLE
            and scores[ranking[0]] > (1 - self.margin) * scores[simple[0]]
        ):
            ranking.insert(0, ranking.pop(ranking.index(simple[0])))
        # When no window fits (a short series), try the candidates in order of preference.
        order = ranking or [n for n in ("auto_ets", "theta", "naive") if n in self.candidates]
        for name in order:
            try:
                self.chosen_ = make_model(name, self.season_length).fit(y)
            except (ValueError, np.linalg.LinAlgError):
                continue
            found = conformity.get(name, np.empty(0))
            self.conformity_ = found if self.calibrate and len(found) >= MIN_SCORES else None
            return
        raise ValueError("no candidate of auto could be fitted")

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


def _spread(prediction: Prediction) -> np.ndarray:
    """The standard deviation a model's 80% interval implies, step by step."""
    lo, hi = prediction.intervals[80]
    return (hi - lo) / (2 * z_score(80))
