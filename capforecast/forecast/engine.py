"""The panel engine: many models over many series, with a fallback per failing series.

Outputs follow the contracts of DESIGN §3: forecasts are long tables ``unique_id, ds,
model, mean, lo-80, hi-80, ...``; sample paths are ``unique_id, ds, path, value``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries import offsets
from pandas.tseries.frequencies import to_offset

from capforecast.core.errors import ParameterError
from capforecast.forecast.base import Forecaster, check_levels
from capforecast.forecast.baselines import SeasonalNaive
from capforecast.forecast.models import make_model

#: Season length by the kind of a pandas offset (of multiple 1), when none is given.
DEFAULT_SEASON: dict[type, int] = {
    offsets.Hour: 24,
    offsets.Day: 7,
    offsets.BusinessDay: 5,
    offsets.Week: 52,
    offsets.MonthEnd: 12,
    offsets.MonthBegin: 12,
    offsets.QuarterEnd: 4,
    offsets.QuarterBegin: 4,
}


@dataclass(frozen=True)
class Fallback:
    """A series whose model failed and was replaced by the fallback model."""

    unique_id: str
    model: str
    reason: str


def default_season_length(freq: str) -> int:
    """A sensible season length for ``freq`` (1 when unknown).

    Examples
    --------
    >>> [default_season_length(f) for f in ("D", "W-SUN", "QE-DEC", "MS", "2D", "5min")]
    [7, 52, 4, 12, 1, 1]
    """
    offset = to_offset(freq)
    if offset.n != 1:
        return 1
    return DEFAULT_SEASON.get(type(offset), 1)


def series_arrays(history: pd.DataFrame) -> Iterator[tuple[str, pd.DatetimeIndex, np.ndarray]]:
    """Each series in sorted order as ``(unique_id, timestamps, values)``."""
    for uid, group in history.groupby("unique_id", sort=True, observed=True):
        yield str(uid), pd.DatetimeIndex(group["ds"]), group["y"].to_numpy(dtype=float)


def _future(last: pd.Timestamp, horizon: int, freq: str) -> pd.DatetimeIndex:
    return pd.date_range(last, periods=horizon + 1, freq=freq)[1:]


def fit_or_fallback(
    model: Forecaster, y: np.ndarray, season_length: int, uid: str, fallbacks: list[Fallback]
) -> Forecaster:
    """Fit ``model``; on failure fit the seasonal naive fallback and record why."""
    try:
        return model.clone().fit(y)
    except ParameterError:
        raise  # the caller's mistake, not the series': no fallback hides it
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        fallbacks.append(Fallback(uid, model.name, str(exc).splitlines()[0][:200]))
        season = season_length if len(y) >= season_length else 1
        return SeasonalNaive(season_length=season).fit(y)


def resolve_freq(
    history: pd.DataFrame, freq: str | None, season_length: int | None
) -> tuple[str, int]:
    """The history's frequency and the season length to use."""
    freq = freq or history.attrs.get("freq")
    if freq is None:
        raise ParameterError(
            "The frequency of the history is unknown; read it with read_history() or pass "
            "freq=, e.g. 'D'."
        )
    if season_length is None:
        return freq, default_season_length(freq)
    if not isinstance(season_length, int | np.integer) or season_length < 1:
        raise ParameterError(
            f"The 'season_length' parameter must be an integer >= 1. Got {season_length!r}."
        )
    return freq, int(season_length)


def build_estimators(
    models: Sequence[str | Forecaster], season_length: int, horizon: int
) -> list[Forecaster]:
    """Forecasters from names or instances; models that select by backtest (``auto``)
    learn the horizon they will be asked for."""
    built = []
    for model in models:
        estimator = make_model(model, season_length) if isinstance(model, str) else model
        if "horizon" in estimator.get_params() and estimator.get_params()["horizon"] is None:
            estimator = estimator.clone().set_params(horizon=horizon)
        built.append(estimator)
    return built


def forecast(
    history: pd.DataFrame,
    horizon: int,
    *,
    models: Sequence[str | Forecaster] = ("ets",),
    levels: Sequence[int] = (80, 95),
    freq: str | None = None,
    season_length: int | None = None,
) -> pd.DataFrame:
    """Forecast every series of ``history`` with every model.

    Parameters
    ----------
    history
        A validated history (``unique_id, ds, y``), e.g. from ``read_history``.
    horizon
        Steps ahead, in the history's frequency (must be >= 1).
    models
        Registry names (``"ets"``, ``"seasonal_naive"``) or forecaster instances.
    levels
        Central interval levels in percent.
    freq, season_length
        The history's frequency (default ``history.attrs["freq"]``) and the season length
        (default by frequency: 7 for daily data).

    Returns
    -------
    pandas.DataFrame
        ``unique_id, ds, model, mean, lo-80, hi-80, ...``, non-negative, sorted. Series
        whose model failed carry the seasonal naive forecast and are listed in
        ``attrs["fallbacks"]``.

    Examples
    --------
    >>> from capforecast.examples import sample_history
    >>> history = sample_history()
    >>> one = history[history["unique_id"] == history["unique_id"].iloc[0]]
    >>> table = forecast(one, 14, models=["seasonal_naive"], levels=[80])
    >>> list(table.columns)
    ['unique_id', 'ds', 'model', 'mean', 'lo-80', 'hi-80']
    >>> bool((table["lo-80"] <= table["mean"]).all() and (table["mean"] <= table["hi-80"]).all())
    True
    """
    if horizon < 1:
        raise ParameterError(f"The 'horizon' parameter must be an integer >= 1. Got {horizon}.")
    levels = check_levels(list(levels))
    freq, season = resolve_freq(history, freq, season_length)
    estimators = build_estimators(models, season, horizon)
    fallbacks: list[Fallback] = []
    frames = []
    for uid, stamps, y in series_arrays(history):
        future = _future(stamps[-1], horizon, freq)
        for estimator in estimators:
            fitted = fit_or_fallback(estimator, y, season, uid, fallbacks)
            prediction = fitted.predict(horizon, levels)
            columns: dict[str, object] = {
                "unique_id": uid,
                "ds": future,
                "model": estimator.name,
                "mean": prediction.mean,
            }
            for level in levels:
                lo, hi = prediction.intervals[level]
                columns[f"lo-{level}"] = lo
                columns[f"hi-{level}"] = hi
            frames.append(pd.DataFrame(columns))
    table = pd.concat(frames, ignore_index=True)
    table.attrs["fallbacks"] = fallbacks
    table.attrs["freq"] = freq
    return table


def sample_paths(
    history: pd.DataFrame,
    horizon: int,
    *,
    model: str | Forecaster = "ets",
    n_paths: int = 200,
    seed: int = 0,
    freq: str | None = None,
    season_length: int | None = None,
) -> pd.DataFrame:
    """Simulated futures of every series: ``unique_id, ds, path, value`` (non-negative).

    Each series draws from its own random stream, derived from ``seed`` and the series'
    position in sorted order: the same history and seed give identical paths. Series are
    simulated independently (no cross-series correlation).

    Examples
    --------
    >>> from capforecast.examples import sample_history
    >>> history = sample_history()
    >>> two = history[history["unique_id"].isin(history["unique_id"].unique()[:2])]
    >>> paths = sample_paths(two, 10, model="seasonal_naive", n_paths=5, seed=1)
    >>> paths.shape, list(paths.columns)
    ((100, 4), ['unique_id', 'ds', 'path', 'value'])
    """
    if horizon < 1 or n_paths < 1:
        raise ParameterError(
            f"'horizon' and 'n_paths' must be integers >= 1. Got {horizon} and {n_paths}."
        )
    freq, season = resolve_freq(history, freq, season_length)
    (estimator,) = build_estimators([model], season, horizon)
    fallbacks: list[Fallback] = []
    frames = []
    for position, (uid, stamps, y) in enumerate(series_arrays(history)):
        fitted = fit_or_fallback(estimator, y, season, uid, fallbacks)
        stream = int(np.random.SeedSequence([seed, position]).generate_state(1)[0])
        paths = fitted.sample_paths(horizon, n_paths, seed=stream)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": np.tile(_future(stamps[-1], horizon, freq).to_numpy(), n_paths),
                    "path": np.repeat(np.arange(n_paths, dtype=np.int32), horizon),
                    "value": paths.ravel(),
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table["unique_id"] = table["unique_id"].astype("category")
    table.attrs["fallbacks"] = fallbacks
    table.attrs["freq"] = freq
    return table
