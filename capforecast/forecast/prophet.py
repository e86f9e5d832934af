"""Prophet behind the forecaster contract: saturating growth, launch calendars, regressors.

``prophet`` (and through it ``cmdstanpy`` and ``matplotlib``) is imported on the first fit,
not with ``capforecast``: it takes about two seconds.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, Self, cast

import numpy as np
import pandas as pd

from capforecast.core.errors import FitError, ParameterError
from capforecast.forecast.base import Forecaster, Prediction

#: The loggers silenced while Prophet runs: Prophet's, and cmdstanpy's (which installs its
#: own stderr handler and reports every optimisation at INFO).
QUIET_LOGGERS = ("prophet", "prophet.models", "prophet.plot", "cmdstanpy")

_GROWTHS = (None, "linear", "logistic", "flat")
_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_saved: dict[str, bool] = {}


@contextmanager
def quiet() -> Iterator[None]:
    """Silence Prophet's and cmdstanpy's loggers and warnings for the duration.

    Each logger in :data:`QUIET_LOGGERS` is ``disabled`` on entry and set back to its
    previous state on exit; nothing else of the logging configuration is touched. Nested
    and concurrent (threaded) uses share one counter, so the state is restored when the
    last one exits. Warnings are ignored inside (``warnings.catch_warnings``, as the ETS
    models do): Prophet and cmdstanpy raise pandas deprecation warnings that are theirs
    to fix, and the fit is judged by its result.
    """
    global _quiet_depth
    with _quiet_lock:
        if _quiet_depth == 0:
            for name in QUIET_LOGGERS:
                logger = logging.getLogger(name)
                _quiet_saved[name] = logger.disabled
                logger.disabled = True
        _quiet_depth += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                for name, disabled in _quiet_saved.items():
                    logging.getLogger(name).disabled = disabled
                _quiet_saved.clear()


def _numpy_seed(seed: int) -> int:
    """A seed for ``np.random.seed`` (which takes ``[0, 2**32)``) from any integer >= 0."""
    return int(np.random.SeedSequence(seed).generate_state(1)[0])


@contextmanager
def _global_rng(seed: int) -> Iterator[None]:
    """Seed numpy's global generator (Prophet samples from it) and restore its state."""
    # Prophet draws from the legacy global generator; there is no Generator to pass it.
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _per_series(frame: pd.DataFrame, unique_id: str, shared: bool) -> pd.DataFrame:
    """The rows of ``frame`` for ``unique_id``, without the ``unique_id`` column; with
    ``shared``, rows whose ``unique_id`` is missing apply to every series."""
    ids = frame["unique_id"]
    keep = ids.astype(str).eq(str(unique_id)) & ids.notna()
    if shared:
        keep |= ids.isna()
    return frame.loc[keep].drop(columns="unique_id").reset_index(drop=True)


def _one_series(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """``frame`` without its ``unique_id`` column, which may name one series only."""
    if "unique_id" not in frame.columns:
        return frame
    ids = frame["unique_id"].dropna().unique()
    if len(ids) > 1:
        raise ParameterError(
            f"The '{name}' frame has rows for {len(ids)} series (column 'unique_id'); "
            "call for_series(unique_id) first, as the panel engine does."
        )
    return frame.drop(columns="unique_id")


class Prophet(Forecaster):
    """Prophet (Taylor & Letham, 2018): piecewise trend, Fourier seasonalities, events.

    A thin, deterministic wrapper of ``prophet.Prophet`` fitted by MAP (Stan's L-BFGS).
    It needs the timestamps: ``fit(y, ds)``. Seasonalities follow Prophet's ``"auto"``
    rule from the timestamps: yearly with two years of history, weekly for sub-weekly
    data spanning two weeks, daily for sub-daily data; ``season_length`` is accepted for
    a uniform registry and unused.

    The point forecast ``mean`` is Prophet's ``yhat``. Intervals at any levels are
    quantiles of Prophet's predictive samples (``predictive_samples``: trend changes
    simulated into the future plus Gaussian noise), and ``sample_paths`` returns such
    samples, so paths and intervals agree.

    Parameters
    ----------
    season_length
        Unused (Prophet's seasonalities come from the calendar).
    growth
        ``"linear"``, ``"logistic"``, ``"flat"``, or ``None``: logistic when ``cap`` is
        given, else linear.
    cap
        Saturation level (a number) of logistic growth; requires logistic growth.
    floor
        Lower bound (a number). With logistic growth it is Prophet's saturating minimum.
        Prophet has no floor for linear or flat growth; then the trend is fitted as
        usual and the floor is a hard bound on the outputs (see *Bounds*).
    events
        An events or launch calendar, Prophet's ``holidays`` frame: ``holiday`` (name),
        ``ds``, optionally ``lower_window`` (<= 0), ``upper_window`` (>= 0),
        ``prior_scale`` and ``unique_id`` (rows with a missing ``unique_id`` apply to
        every series). Future events must be listed to affect the forecast.
    regressors
        Extra regressors with known future values: ``ds``, optionally ``unique_id``,
        and one numeric column per regressor, covering every date of the history and
        of the forecast horizon; a missing date raises :class:`ParameterError` (a
        ``ValueError``) naming it.
    seasonality_mode
        ``"additive"`` or ``"multiplicative"`` (also used for events and regressors).
    changepoint_prior_scale
        Flexibility of the trend (Prophet's default 0.05).
    uncertainty_samples
        Predictive samples behind the intervals of ``predict``.
    seed
        Seeds Stan's optimiser and the sampling behind ``predict``; ``sample_paths``
        uses its own ``seed``.

    Notes
    -----
    *Bounds.* Prophet's logistic trend stays within ``[floor, cap]``, but its additive
    seasonality, events, regressors and noise do not. Here every output (mean, interval
    bounds, paths) is clipped to ``[floor, cap]`` (each given bound), and then at 0 as by
    every forecaster: a stated bound is a hard bound. Interval bounds are quantiles of
    the clipped samples, so they stay nested and agree with the paths; the mean is the
    clipped ``yhat``.

    *Determinism.* Prophet samples from numpy's global generator: it is seeded from
    ``seed`` (or from the generator of ``sample_paths``) and its state is restored
    afterwards, so the same inputs and seed give identical outputs, and the caller's
    global random state is untouched. This is not thread-safe against other code using
    numpy's global generator at the same time (the panel engine runs processes).

    *Logging.* Nothing is printed or logged: see :func:`quiet`.

    Examples
    --------
    >>> ds = pd.date_range("2025-01-06", periods=84, freq="D")
    >>> t = np.arange(84)
    >>> y = 50 + 0.2 * t + 8 * (t % 7 < 5)
    >>> model = Prophet(seed=1).fit(y, ds)
    >>> prediction = model.predict(7, levels=(50, 95))
    >>> lo, hi = prediction.intervals[95]
    >>> bool((lo <= prediction.mean).all() and (prediction.mean <= hi).all())
    True
    >>> Prophet(growth="linear", cap=100.0).fit(y, ds)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    ParameterError: A 'cap' needs logistic growth; got growth='linear'.
    """

    min_length = 2
    needs_dates = True

    def __init__(
        self,
        season_length: int = 1,
        growth: str | None = None,
        cap: float | None = None,
        floor: float | None = None,
        events: pd.DataFrame | None = None,
        regressors: pd.DataFrame | None = None,
        seasonality_mode: str = "additive",
        changepoint_prior_scale: float = 0.05,
        uncertainty_samples: int = 1000,
        seed: int = 0,
        alias: str | None = None,
    ) -> None:
        self.alias = alias
        self.season_length = season_length  # accepted for a uniform registry; unused
        self.growth = growth
        self.cap = cap
        self.floor = floor
        self.events = events
        self.regressors = regressors
        self.seasonality_mode = seasonality_mode
        self.changepoint_prior_scale = changepoint_prior_scale
        self.uncertainty_samples = uncertainty_samples
        self.seed = seed

    # -- parameters -------------------------------------------------------------------

    def for_series(self, unique_id: str) -> Self:
        """A clone restricted to the rows of ``unique_id`` when ``regressors`` or
        ``events`` have a ``unique_id`` column; ``self`` otherwise."""
        updates: dict[str, Any] = {}
        if isinstance(self.regressors, pd.DataFrame) and "unique_id" in self.regressors:
            rows = _per_series(self.regressors, unique_id, shared=False)
            if rows.empty:
                raise ParameterError(
                    f"The 'regressors' frame has no rows for series '{unique_id}'."
                )
            updates["regressors"] = rows
        if isinstance(self.events, pd.DataFrame) and "unique_id" in self.events:
            rows = _per_series(self.events, unique_id, shared=True)
            updates["events"] = rows if len(rows) else None
        return self.clone().set_params(**updates) if updates else self

    def _growth(self) -> str:
        """The growth to fit, after checking it against ``cap`` and ``floor``."""
        if self.growth not in _GROWTHS:
            raise ParameterError(
                f"The 'growth' parameter must be one of {list(_GROWTHS)}. "
                f"Got {self.growth!r} instead."
            )
        for name in ("cap", "floor"):
            value = getattr(self, name)
            if value is not None and not (
                isinstance(value, int | float | np.integer | np.floating) and np.isfinite(value)
            ):
                raise ParameterError(f"The '{name}' parameter must be a finite number or None.")
        growth = self.growth or ("logistic" if self.cap is not None else "linear")
        if self.cap is not None and growth != "logistic":
            raise ParameterError(f"A 'cap' needs logistic growth; got growth={self.growth!r}.")
        if growth == "logistic" and self.cap is None:
            raise ParameterError("Logistic growth needs a 'cap' (its saturation level).")
        if self.cap is not None:
            lowest = 0.0 if self.floor is None else float(self.floor)
            if self.cap <= lowest:
                raise ParameterError(
                    f"The 'cap' ({self.cap}) must be greater than the 'floor' "
                    f"({'0 by default' if self.floor is None else self.floor})."
                )
        if self.seasonality_mode not in ("additive", "multiplicative"):
            raise ParameterError(
                "The 'seasonality_mode' parameter must be 'additive' or 'multiplicative'. "
                f"Got {self.seasonality_mode!r} instead."
            )
        if not (
            isinstance(self.uncertainty_samples, int | np.integer) and self.uncertainty_samples >= 1
        ):
            raise ParameterError(
                "The 'uncertainty_samples' parameter must be an integer >= 1. "
                f"Got {self.uncertainty_samples!r} instead."
            )
        if not (isinstance(self.seed, int | np.integer) and self.seed >= 0):
            raise ParameterError(
                f"The 'seed' parameter must be an integer >= 0. Got {self.seed!r} instead."
            )
        return growth

    def _events(self) -> pd.DataFrame | None:
        if self.events is None:
            return None
        if not isinstance(self.events, pd.DataFrame) or not {"holiday", "ds"} <= set(
            self.events.columns
        ):
            raise ParameterError(
                "The 'events' parameter must be a DataFrame with columns 'holiday' and 'ds' "
                "(optionally 'lower_window', 'upper_window', 'prior_scale', 'unique_id')."
            )
        events = _one_series(self.events, "events").copy()  # Prophet converts ds in place
        return events if len(events) else None

    def _regressor_table(self) -> pd.DataFrame | None:
        """The regressor values indexed by date."""
        if self.regressors is None:
            return None
        frame = self.regressors
        if not isinstance(frame, pd.DataFrame) or "ds" not in frame.columns:
            raise ParameterError(
                "The 'regressors' parameter must be a DataFrame with a 'ds' column, "
                "optionally 'unique_id', and one numeric column per regressor."
            )
        frame = _one_series(frame, "regressors")
        names = [column for column in frame.columns if column != "ds"]
        if not names:
            raise ParameterError("The 'regressors' frame has no regressor column besides 'ds'.")
        not_numeric = [n for n in names if not pd.api.types.is_numeric_dtype(frame[n])]
        if not_numeric:
            raise ParameterError(f"Regressor columns must be numeric; not: {not_numeric}.")
        table = frame.set_index(pd.DatetimeIndex(pd.to_datetime(frame["ds"])))[names]
        duplicated = table.index[table.index.duplicated()]
        if len(duplicated):
            raise ParameterError(
                f"The 'regressors' frame has several rows for {duplicated[0].date()}; "
                "give one row per date (and per unique_id)."
            )
        return table.astype(float)

    def _regressor_values(self, dates: pd.DatetimeIndex) -> pd.DataFrame:
        """The regressor values on ``dates``; a date without values is an error."""
        table = self.table_
        assert table is not None
        values = table.reindex(dates)
        missing = ~np.isfinite(values.to_numpy()).all(axis=1)
        if missing.any():
            first = dates[int(np.argmax(missing))]
            columns = [c for c in values.columns if not np.isfinite(values.loc[first, c])]
            raise ParameterError(
                f"The 'regressors' frame has no value of {columns} for {first} (the first "
                f"missing date); it must cover every date from {dates[0]} to {dates[-1]}."
            )
        return values.reset_index(drop=True)

    # -- fitting and predicting -------------------------------------------------------

    def _frame(self, dates: pd.DatetimeIndex) -> pd.DataFrame:
        """Prophet's input frame for ``dates``: ``ds``, bounds and regressors."""
        frame = pd.DataFrame({"ds": dates})
        if self.growth_ == "logistic":
            frame["cap"] = float(self.cap)  # type: ignore[arg-type]
            if self.floor is not None:
                frame["floor"] = float(self.floor)
        if self.table_ is not None:
            frame = pd.concat([frame, self._regressor_values(dates)], axis=1)
        return frame

    def _fit_dates(self, y: np.ndarray, ds: pd.DatetimeIndex | None) -> None:
        if ds is None:
            raise ParameterError(f"{self.name} needs the timestamps: call fit(y, ds=...).")
        self.growth_ = self._growth()
        events = self._events()
        self.table_ = self._regressor_table()
        freq = ds.freq
        if freq is None:
            try:
                freq = pd.tseries.frequencies.to_offset(pd.infer_freq(ds))
            except (TypeError, ValueError):
                freq = None
        if freq is None:
            raise ParameterError(
                "Prophet needs regular timestamps: pass ds with a frequency "
                "(e.g. pd.date_range(..., freq='D'))."
            )
        self.freq_ = freq
        self.last_ = ds[-1]
        frame = self._frame(ds)
        frame["y"] = y
        with quiet():
            from prophet import Prophet as _Prophet

            try:
                model = _Prophet(
                    growth=cast(Literal["linear", "logistic", "flat"], self.growth_),
                    holidays=events,
                    seasonality_mode=cast(
                        Literal["additive", "multiplicative"], self.seasonality_mode
                    ),
                    changepoint_prior_scale=self.changepoint_prior_scale,
                    uncertainty_samples=int(self.uncertainty_samples),
                )
                for name in [] if self.table_ is None else self.table_.columns:
                    model.add_regressor(name)
            except ValueError as exc:  # Prophet's checks of its parameters
                raise ParameterError(f"Prophet rejected its parameters: {exc}") from exc
            try:
                model.fit(frame, seed=_numpy_seed(int(self.seed)))
            except (RuntimeError, ValueError) as exc:  # the optimiser failed on this series
                raise FitError(f"Prophet's optimiser failed: {exc}") from exc
        if not all(np.isfinite(np.asarray(v, dtype=float)).all() for v in model.params.values()):
            raise FitError("Prophet's fit produced non-finite parameters")
        self.model_ = model

    def _future(self, horizon: int) -> pd.DatetimeIndex:
        if horizon < 1:
            raise ParameterError(f"The 'horizon' must be an integer >= 1. Got {horizon}.")
        return pd.date_range(self.last_, periods=horizon + 1, freq=self.freq_)[1:]

    def _bounded(self, values: np.ndarray) -> np.ndarray:
        """``values`` clipped to ``[floor, cap]`` (each where given)."""
        return np.clip(
            values,
            -np.inf if self.floor is None else float(self.floor),
            np.inf if self.cap is None else float(self.cap),
        )

    def _samples(self, frame: pd.DataFrame, n: int, seed: int) -> np.ndarray:
        """``n`` predictive samples ``[step, sample]`` of Prophet, bounded."""
        model = self.model_
        saved = model.uncertainty_samples
        model.uncertainty_samples = n  # how many samples Prophet draws
        try:
            with quiet(), _global_rng(seed):
                samples = model.predictive_samples(frame)["yhat"]
        finally:
            model.uncertainty_samples = saved
        return self._bounded(np.asarray(samples, dtype=float))

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        frame = self._frame(self._future(horizon))
        model = self.model_
        saved = model.uncertainty_samples
        model.uncertainty_samples = 0  # the point forecast only; samples come below
        try:
            with quiet():
                yhat = model.predict(frame)["yhat"].to_numpy(dtype=float)
        finally:
            model.uncertainty_samples = saved
        intervals = {}
        if levels:
            samples = self._samples(frame, int(self.uncertainty_samples), _numpy_seed(self.seed))
            for level in levels:
                lo, hi = np.quantile(samples, [0.5 - level / 200, 0.5 + level / 200], axis=1)
                intervals[level] = (lo, hi)
        return Prediction(self._bounded(yhat), intervals)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        frame = self._frame(self._future(horizon))
        seed = int(rng.integers(0, 2**32))
        return self._samples(frame, n_paths, seed).T
