"""The panel engine: many models over many series, with a fallback per failing series.

Outputs follow the contracts of docs/data.md: forecasts are long tables ``unique_id, ds,
model, mean, lo-80, hi-80, ...``; sample paths are ``unique_id, ds, path, value``.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries import offsets
from pandas.tseries.frequencies import to_offset

from capforecast.core.errors import FitError, ParameterError
from capforecast.core.history import GapPolicy, fill_gaps
from capforecast.core.limits import LIMITS, check, clipped
from capforecast.forecast.base import Forecaster, Prediction, check_levels
from capforecast.forecast.baselines import SeasonalNaive
from capforecast.forecast.dependence import pair_paths
from capforecast.forecast.models import make_model
from capforecast.forecast.parallel import map_series
from capforecast.forecast.selection import check_forecasters

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


class ForecastWarning(UserWarning):
    """A series was forecast by the fallback model, was too short, or had gaps."""


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


def series_arrays(
    history: pd.DataFrame, freq: str | None = None
) -> Iterator[tuple[str, pd.DatetimeIndex, np.ndarray]]:
    """Each series in sorted order as ``(unique_id, timestamps, values)``; the
    timestamps carry ``freq`` when given (the series must then be regular)."""
    for uid, group in history.groupby("unique_id", sort=True, observed=True):
        stamps = pd.DatetimeIndex(group["ds"], freq=freq)
        yield str(uid), stamps, group["y"].to_numpy(dtype=float)


def _future(last: pd.Timestamp, horizon: int, freq: str) -> pd.DatetimeIndex:
    try:
        return pd.date_range(last, periods=horizon + 1, freq=freq)[1:]
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
        raise ParameterError(
            f"A horizon of {horizon} steps of {freq} after {last.date()} runs past the "
            "dates pandas can represent (year 2262); choose a shorter horizon."
        ) from exc


def fit_or_fallback(
    model: Forecaster,
    series: Series,
    length: int,
    season_length: int,
    fallbacks: list[Fallback],
) -> Forecaster:
    """Fit ``model`` on the first ``length`` steps of ``series``; on failure fit the
    seasonal naive fallback and record why."""
    y, ds = series.y[:length], series.stamps[:length]
    try:
        return model.for_series(series.unique_id).clone().fit(y, ds)
    except FitError as exc:  # the series' problem; any other error is raised
        fallbacks.append(Fallback(series.unique_id, model.name, str(exc).splitlines()[0][:200]))
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
    """Forecasters from names or instances, with different names (a
    :class:`ParameterError` says to give one an alias); models that select by backtest
    (``auto``) learn the horizon they will be asked for."""
    built = []
    for model in models:
        estimator = make_model(model, season_length) if isinstance(model, str) else model
        if "horizon" in estimator.get_params() and estimator.get_params()["horizon"] is None:
            estimator = estimator.clone().set_params(horizon=horizon)
        built.append(estimator)
    return check_forecasters(built, "models of one run")


@dataclass(frozen=True)
class Series:
    """One series of a panel, with its position in sorted order (for random streams)."""

    position: int
    unique_id: str
    stamps: pd.DatetimeIndex
    y: np.ndarray


@dataclass(frozen=True)
class Panel:
    """A validated panel ready for per-series tasks."""

    series: list[Series]
    freq: str
    season_length: int


def check_size(
    series: int, horizon: int, per_step: int, limit: int = LIMITS.forecast_values
) -> None:
    """Refuse, before any fit, a forecast of more than ``limit`` values (``series`` x
    ``horizon`` x ``per_step``: models x (1 + 2 x levels), or sample paths) or a horizon
    over ``LIMITS.forecast_horizon``, with a :class:`LimitError` naming the bound.

    Examples
    --------
    >>> check_size(330, 1000, 4 * 13, limit=2_000_000)
    Traceback (most recent call last):
    ...
    capforecast.core.limits.LimitError: forecast values (330 series x ...): 17160000 is ...
    """
    check("forecast horizon (steps)", horizon, LIMITS.forecast_horizon)
    what = f"forecast values ({series} series x {horizon} steps x {per_step} per step)"
    check(what, series * horizon * per_step, limit)


def prepare(
    history: pd.DataFrame,
    freq: str | None,
    season_length: int | None,
    gaps: GapPolicy = "error",
) -> Panel:
    """Resolve frequency and season, apply the gap policy, split into series.

    Series that had gaps are named in a :class:`ForecastWarning`.
    """
    freq, season = resolve_freq(history, freq, season_length)
    regular, gapped = fill_gaps(history, freq, gaps)
    if gapped:
        shown = ", ".join(map(clipped, gapped[:10])) + (" ..." if len(gapped) > 10 else "")
        warnings.warn(
            f"{len(gapped)} series had gaps, filled with gaps={gaps!r}: {shown}",
            ForecastWarning,
            stacklevel=3,
        )
    series = [
        Series(position, uid, stamps, y)
        for position, (uid, stamps, y) in enumerate(series_arrays(regular, freq))
    ]
    return Panel(series, freq, season)


def report_fallbacks(fallbacks: list[Fallback]) -> None:
    """One warning naming every series whose model failed or that was too short."""
    if not fallbacks:
        return
    unique = list(dict.fromkeys((f.unique_id, f.model, f.reason) for f in fallbacks))
    shown = "; ".join(
        f"'{clipped(str(uid))}' ({model}: {clipped(reason, 200)})"
        for uid, model, reason in unique[:10]
    )
    more = f"; and {len(unique) - 10} more" if len(unique) > 10 else ""
    warnings.warn(
        f"{len(fallbacks)} fits failed and used the seasonal naive fallback: {shown}{more}",
        ForecastWarning,
        stacklevel=3,
    )


def prediction_columns(prediction: Prediction, levels: tuple[int, ...]) -> dict[str, np.ndarray]:
    """``mean, lo-<level>, hi-<level>, ...`` columns of one prediction."""
    columns = {"mean": prediction.mean}
    for level in levels:
        columns[f"lo-{level}"], columns[f"hi-{level}"] = prediction.intervals[level]
    return columns


PanelTask = Callable[[Series], tuple[list[pd.DataFrame], list[Fallback]]]


def run_tasks(
    task: PanelTask,
    panel: Panel,
    *,
    n_jobs: int | None,
    client: Any,
    progress: bool | None = None,
    what: str = "series",
) -> tuple[list[list[pd.DataFrame]], list[Fallback]]:
    """Run ``task`` on every series (with a progress bar headed ``what``); return its
    frames per series and the fallbacks, which are reported in one
    :class:`ForecastWarning`."""
    results = map_series(
        task, panel.series, n_jobs=n_jobs, client=client, progress=progress, what=what
    )
    fallbacks = [fallback for _, found in results for fallback in found]
    report_fallbacks(fallbacks)
    return [frames for frames, _ in results], fallbacks


def _forecast_task(
    series: Series,
    *,
    estimators: list[Forecaster],
    horizon: int,
    levels: tuple[int, ...],
    freq: str,
    season: int,
) -> tuple[list[pd.DataFrame], list[Fallback]]:
    fallbacks: list[Fallback] = []
    future = _future(series.stamps[-1], horizon, freq)
    frames = []
    for estimator in estimators:
        fitted = fit_or_fallback(estimator, series, len(series.y), season, fallbacks)
        prediction = fitted.predict(horizon, levels)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": series.unique_id,
                    "ds": future,
                    "model": estimator.name,
                    **prediction_columns(prediction, levels),
                }
            )
        )
    return frames, fallbacks


def forecast(
    history: pd.DataFrame,
    horizon: int,
    *,
    models: Sequence[str | Forecaster] = ("ets",),
    levels: Sequence[int] = (80, 95),
    freq: str | None = None,
    season_length: int | None = None,
    gaps: GapPolicy = "error",
    n_jobs: int | None = None,
    client: Any = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Forecast every series of ``history`` with every model.

    Parameters
    ----------
    history
        A history (``unique_id, ds, y``), e.g. from ``read_history``.
    horizon
        Steps ahead, in the history's frequency (must be >= 1).
    models
        Registry names (``"ets"``, ``"auto"``, ...) or forecaster instances.
    levels
        Central interval levels in percent.
    freq, season_length
        The history's frequency (default ``history.attrs["freq"]``) and the season length
        (default by frequency: 7 for daily data).
    gaps
        Missing steps inside a series: ``"error"``, ``"zero"`` or ``"interpolate"``.
    n_jobs, client
        Local processes (default: every core for large panels) or a
        ``dask.distributed.Client``; results are identical either way.
    progress
        A progress bar (series done, elapsed, estimate left) on standard error: ``None``
        shows it on a terminal or in Jupyter, never when output goes to a file or pipe.

    Returns
    -------
    pandas.DataFrame
        ``unique_id, ds, model, mean, lo-80, hi-80, ...``, non-negative, sorted. Series
        whose model failed carry the seasonal naive forecast, are named in a
        :class:`ForecastWarning` and listed in ``attrs["fallbacks"]``.

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
    models = list(dict.fromkeys(models))  # a model named twice is fitted once
    check_size(history["unique_id"].nunique(), horizon, len(models) * (1 + 2 * len(levels)))
    panel = prepare(history, freq, season_length, gaps)
    estimators = build_estimators(models, panel.season_length, horizon)
    task = partial(
        _forecast_task,
        estimators=estimators,
        horizon=horizon,
        levels=levels,
        freq=panel.freq,
        season=panel.season_length,
    )
    names = ", ".join(e.name for e in estimators)
    per_series, fallbacks = run_tasks(
        task, panel, n_jobs=n_jobs, client=client, progress=progress, what=f"forecast ({names})"
    )
    table = pd.concat([frame for frames in per_series for frame in frames], ignore_index=True)
    table.attrs["fallbacks"] = fallbacks
    table.attrs["freq"] = panel.freq
    return table


def _paths_task(
    series: Series,
    *,
    estimator: Forecaster,
    horizon: int,
    n_paths: int,
    seed: int,
    freq: str,
    season: int,
) -> tuple[list[pd.DataFrame], list[Fallback]]:
    fallbacks: list[Fallback] = []
    fitted = fit_or_fallback(estimator, series, len(series.y), season, fallbacks)
    # Keyed on the series' name, not its position: adding or removing other series (a
    # scenario) leaves this series' paths unchanged.
    key = zlib.crc32(series.unique_id.encode())
    stream = int(np.random.SeedSequence([seed, key]).generate_state(1)[0])
    paths = fitted.sample_paths(horizon, n_paths, seed=stream)
    frame = pd.DataFrame(
        {
            "unique_id": series.unique_id,
            "ds": np.tile(_future(series.stamps[-1], horizon, freq).to_numpy(), n_paths),
            "path": np.repeat(np.arange(n_paths, dtype=np.int32), horizon),
            "value": paths.ravel(),
        }
    )
    return [frame], fallbacks


def sample_paths(
    history: pd.DataFrame,
    horizon: int,
    *,
    model: str | Forecaster = "ets",
    n_paths: int = 200,
    seed: int = 0,
    freq: str | None = None,
    season_length: int | None = None,
    gaps: GapPolicy = "error",
    dependence: str = "history",
    n_jobs: int | None = None,
    client: Any = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Simulated futures of every series: ``unique_id, ds, path, value`` (non-negative).

    Each series draws from its own random stream, derived from ``seed`` and the series'
    ``unique_id``: the same history and seed give identical paths, locally or on a
    cluster, and the set of a series' paths does not change when other series are added
    or removed.

    ``dependence="history"`` (default) then pairs the paths of different series the way
    the series moved together in the past (:func:`~capforecast.forecast.dependence.
    pair_paths`), so that sums of paths across series (a workload's requirement) see
    joint peaks; ``"independent"`` keeps each series' own order (no cross-series
    correlation). Other parameters (``progress`` too) as in :func:`forecast`.

    Examples
    --------
    >>> from capforecast.examples import sample_history
    >>> history = sample_history()
    >>> two = history[history["unique_id"].isin(history["unique_id"].unique()[:2])]
    >>> paths = sample_paths(two, 10, model="seasonal_naive", n_paths=5, seed=1)
    >>> paths.shape, list(paths.columns)
    ((100, 4), ['unique_id', 'ds', 'path', 'value'])
    """
    if horizon < 1 or n_paths < 1 or seed < 0:
        raise ParameterError(
            "'horizon' and 'n_paths' must be integers >= 1, and 'seed' >= 0. "
            f"Got {horizon}, {n_paths} and {seed}."
        )
    check("sample paths", n_paths, LIMITS.paths)
    if dependence not in ("history", "independent"):
        raise ParameterError(
            f"The 'dependence' parameter must be 'history' or 'independent'. Got {dependence!r}."
        )
    check_size(history["unique_id"].nunique(), horizon, n_paths)
    panel = prepare(history, freq, season_length, gaps)
    (estimator,) = build_estimators([model], panel.season_length, horizon)
    task = partial(
        _paths_task,
        estimator=estimator,
        horizon=horizon,
        n_paths=n_paths,
        seed=seed,
        freq=panel.freq,
        season=panel.season_length,
    )
    per_series, fallbacks = run_tasks(
        task, panel, n_jobs=n_jobs, client=client, progress=progress,
        what=f"sample paths ({estimator.name})",
    )  # fmt: skip
    frames = [found[0] for found in per_series]
    if dependence == "history" and len(frames) > 1:
        paired = pair_paths(
            [f["value"].to_numpy().reshape(n_paths, horizon) for f in frames],
            [s.stamps for s in panel.series],
            [s.y for s in panel.series],
            horizon,
            seed,
        )
        frames = [f.assign(value=p.ravel()) for f, p in zip(frames, paired, strict=True)]
    table = pd.concat(frames, ignore_index=True)
    table["unique_id"] = table["unique_id"].astype("category")
    table.attrs["fallbacks"] = fallbacks
    table.attrs["freq"] = panel.freq
    return table
