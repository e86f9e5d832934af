"""``model="auto"``: per series, the candidate that backtests best."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from capforecast.forecast import metrics
from capforecast.forecast.base import Forecaster, Prediction

#: Candidates ``auto`` chooses from, cheapest first (ties go to the earlier one).
AUTO_CANDIDATES = ("naive", "seasonal_naive", "drift", "window_average", "theta", "auto_ets")


class Auto(Forecaster):
    """Choose, per series, the candidate with the lowest rolling-origin MASE.

    The series is cut at ``n_windows`` origins ``horizon`` steps apart (the last one
    ``horizon`` steps before its end); every candidate is fitted before each origin and
    scored on the following ``horizon`` steps; the winner is refitted on the whole series.
    Naive forecasts are candidates, so ``auto`` only departs from them when a richer
    model has backtested better on this very series.

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
    ) -> None:
        self.season_length = season_length
        self.horizon = horizon
        self.n_windows = n_windows
        self.candidates = candidates

    def _horizon(self) -> int:
        return self.horizon or max(2 * self.season_length, 4)

    def _fit(self, y: np.ndarray) -> None:
        from capforecast.forecast.backtest import cutoffs
        from capforecast.forecast.models import make_model

        horizon = self._horizon()
        origins = [o for o in cutoffs(len(y), horizon, self.n_windows, horizon) if o >= 4]
        scores: dict[str, float] = {}
        for name in self.candidates:
            model = make_model(name, self.season_length)
            errors = []
            for origin in origins:
                try:
                    fitted = model.clone().fit(y[:origin])
                except (ValueError, np.linalg.LinAlgError):
                    break
                forecast = fitted.predict(horizon).mean
                errors.append(metrics.mase(y[origin : origin + horizon], forecast, y[:origin], 1))
            else:
                finite = [e for e in errors if np.isfinite(e)]
                if finite:
                    scores[name] = float(np.mean(finite))
        self.scores_ = scores
        ranking = sorted(scores, key=lambda name: (scores[name], self.candidates.index(name)))
        # When no window fits (a short series), try the candidates in order of preference.
        order = ranking or [n for n in ("auto_ets", "theta", "naive") if n in self.candidates]
        for name in order:
            try:
                self.chosen_ = make_model(name, self.season_length).fit(y)
                return
            except (ValueError, np.linalg.LinAlgError):
                continue
        raise ValueError("no candidate of auto could be fitted")

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        return self.chosen_._predict(horizon, levels)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        return self.chosen_._paths(horizon, n_paths, rng)
