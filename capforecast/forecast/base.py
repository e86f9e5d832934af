"""The forecaster contract: scikit-learn style, one series at a time.

``__init__`` only stores parameters; ``fit(y, ds=None)`` learns from a 1-d array (and,
for models that use the calendar such as Prophet, its timestamps ``ds``, a
``DatetimeIndex`` with a frequency) and returns ``self``; learned state ends in ``_``;
``predict`` or ``sample_paths`` before ``fit`` raise
:class:`~capforecast.core.errors.NotFittedError`. Every output is non-negative: demand for
accelerators cannot be below zero.

Every forecaster takes an ``alias``: its ``name`` in forecast tables, backtest scores and
``select_models`` (default: the class name). Two models of one panel run must have
different names. A series the model cannot fit raises
:class:`~capforecast.core.errors.FitError`; a numerical failure inside a fit (a singular
matrix, an overflow) is turned into one.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
from scipy import stats

from capforecast.core.errors import FitError, NotFittedError, ParameterError

#: Numerical failures inside a fit that mean "this series cannot be fitted".
NUMERICAL_ERRORS = (np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError, OverflowError)


@dataclass(frozen=True)
class Prediction:
    """Point forecast and intervals for one series: ``intervals[level] = (lo, hi)``."""

    mean: np.ndarray
    intervals: dict[int, tuple[np.ndarray, np.ndarray]]


def check_levels(levels: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Validate interval levels (integers in (0, 100)).

    Examples
    --------
    >>> check_levels([95, 80])
    (80, 95)
    >>> check_levels([120])  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    ParameterError: The 'level' parameter must be integers in (0, 100). Got [120] instead.
    """
    values = list(levels)
    if not all(isinstance(v, int | np.integer) and 0 < v < 100 for v in values):
        raise ParameterError(
            f"The 'level' parameter must be integers in (0, 100). Got {values} instead."
        )
    return tuple(sorted({int(v) for v in values}))


def z_score(level: int) -> float:
    """Two-sided normal quantile for a central interval of ``level`` percent."""
    return float(stats.norm.ppf(0.5 + level / 200.0))


def normal_prediction(mean: np.ndarray, spread: np.ndarray, levels: tuple[int, ...]) -> Prediction:
    """Central intervals ``mean ± z · spread`` of a normal forecast error."""
    return Prediction(
        mean,
        {
            level: (mean - z_score(level) * spread, mean + z_score(level) * spread)
            for level in levels
        },
    )


#: The constructor parameters of each forecaster class (``inspect`` is slow, and
#: backtests clone thousands of models).
_PARAMETERS: dict[type, tuple[str, ...]] = {}


def _parameter_names(cls: type) -> tuple[str, ...]:
    if cls not in _PARAMETERS:
        _PARAMETERS[cls] = tuple(inspect.signature(cls).parameters)
    return _PARAMETERS[cls]


class Forecaster:
    """Base class of every forecaster.

    Subclasses implement ``_fit``, ``_predict`` and ``_paths``; the base class checks the
    input, tracks the fitted state and clips outputs at zero.
    """

    #: Fewest observations ``fit`` accepts.
    min_length = 1

    #: Whether ``fit`` needs the timestamps ``ds`` (calendar models such as Prophet).
    needs_dates = False

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in _parameter_names(type(self))}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters; unknown names raise ``ValueError``."""
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise ParameterError(
                    f"Invalid parameter '{name}' for {type(self).__name__}; valid: {sorted(valid)}"
                )
            setattr(self, name, value)
        return self

    def clone(self) -> Self:
        """A new, unfitted forecaster with the same parameters (and alias)."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.get_params().items() if k != "alias" or v is not None}
        params = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"{type(self).__name__}({params})"

    #: The name in forecast tables and scores; ``None``: the class name. Subclasses take
    #: it as their last constructor parameter.
    alias: str | None = None

    @property
    def name(self) -> str:
        """The model's name in forecast tables, scores and ``select_models``: its
        ``alias``, else its class name."""
        if self.alias is None:
            return type(self).__name__
        if not isinstance(self.alias, str) or not self.alias.strip():
            raise ParameterError(
                f"The 'alias' parameter of {type(self).__name__} must be a non-empty string. "
                f"Got {self.alias!r} instead."
            )
        return self.alias

    def for_series(self, unique_id: str) -> Self:
        """The forecaster to fit on the series ``unique_id`` of a panel.

        The default is ``self``; models with per-series inputs (regressors keyed by
        ``unique_id``) return a clone restricted to that series.
        """
        return self

    def fit(self, y: np.ndarray, ds: pd.DatetimeIndex | None = None) -> Self:
        """Learn from one series of non-negative observations; returns ``self``.

        ``ds`` are the timestamps of ``y`` (a ``DatetimeIndex`` of the same length, with
        a frequency); models that do not use the calendar ignore them.
        """
        season = self.get_params().get("season_length", 1)
        if not isinstance(season, int | np.integer) or season < 1:
            raise ParameterError(
                f"The 'season_length' parameter of {self.name} must be an integer >= 1. "
                f"Got {season!r} instead."
            )
        values = np.asarray(y, dtype=float)
        if values.ndim != 1:
            raise ParameterError(f"{self.name}.fit expects a 1-d series, got shape {values.shape}")
        if ds is not None and len(ds) != len(values):
            raise ParameterError(
                f"{self.name}.fit got {len(ds)} timestamps for {len(values)} values"
            )
        if ds is None and self.needs_dates:
            raise ParameterError(f"{self.name} needs the timestamps: call fit(y, ds=...).")
        if len(values) < self.min_length:
            raise FitError(
                f"{self.name} needs at least {self.min_length} observations, got {len(values)}"
            )
        if not np.isfinite(values).all():
            raise FitError(f"{self.name}.fit got non-finite values")
        try:
            if ds is not None:
                self._fit_dates(values, pd.DatetimeIndex(ds))
            else:
                self._fit(values)
        except NUMERICAL_ERRORS as exc:
            raise FitError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        self.n_obs_ = len(values)
        return self

    def update(self, y: np.ndarray, ds: pd.DatetimeIndex | None = None) -> Self:
        """A forecaster for the longer series ``y`` that keeps what was learned.

        Models with estimated parameters override this to re-filter the new data with the
        parameters they have (cheap); the default refits a clone.
        """
        self._check_fitted()
        return self.clone().fit(y, ds)

    def advance(self, y: np.ndarray, ds: pd.DatetimeIndex | None = None) -> Self:
        """The forecaster for the longer series ``y`` at a later backtest origin.

        The default refits a clone; models whose ``update`` re-filters override this to
        re-estimate only when the re-filtered model no longer explains the new
        observations (a refit would change the answer).
        """
        self._check_fitted()
        return self.clone().fit(y, ds)

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_obs_"):
            raise NotFittedError(
                f"This {self.name} instance is not fitted yet; call fit(y) before predicting."
            )

    def predict(self, horizon: int, levels: tuple[int, ...] = ()) -> Prediction:
        """Mean and central intervals for the next ``horizon`` steps, clipped at 0."""
        self._check_fitted()
        levels = check_levels(levels)
        raw = self._predict(horizon, levels)
        return Prediction(
            np.clip(raw.mean, 0.0, None),
            {
                level: (np.clip(lo, 0.0, None), np.clip(hi, 0.0, None))
                for level, (lo, hi) in raw.intervals.items()
            },
        )

    def sample_paths(self, horizon: int, n_paths: int, seed: int) -> np.ndarray:
        """``n_paths`` simulated futures as an array ``[path, step]``, clipped at 0."""
        self._check_fitted()
        rng = np.random.default_rng(seed)
        return np.clip(self._paths(horizon, n_paths, rng), 0.0, None)

    def _fit(self, y: np.ndarray) -> None:
        raise NotImplementedError

    def _fit_dates(self, y: np.ndarray, ds: pd.DatetimeIndex | None) -> None:
        """``fit`` with timestamps; models that do not use the calendar ignore them."""
        self._fit(y)

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        raise NotImplementedError

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError


class Selecting(Forecaster):
    """A forecaster that chooses one fitted model (``chosen_``) and forecasts with it."""

    chosen_: Forecaster

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        return self.chosen_._predict(horizon, levels)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        return self.chosen_._paths(horizon, n_paths, rng)
