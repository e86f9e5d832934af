"""Demand history: the long table ``unique_id, ds, y`` (docs/data.md)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from capforecast.core.errors import InputError, ParameterError, Problem
from capforecast.core.io import read_raw_table
from capforecast.core.limits import LIMITS, LimitError, clipped
from capforecast.core.schemas import HISTORY


def read_history(
    path: str | Path, *, freq: str | None = None, gaps: GapPolicy = "error"
) -> pd.DataFrame:
    """Read and validate a demand history from CSV or Parquet.

    Parameters
    ----------
    path
        A ``.csv`` or ``.parquet`` file with columns ``unique_id, ds, y`` and optionally
        ``org, team, workload, sku, region``.
    freq
        The pandas frequency of ``ds`` (``"D"``, ``"W-SUN"``, ...). Inferred when not
        given; every series must then be on that regular grid.
    gaps
        Missing steps inside a series: ``"error"`` (default), ``"zero"`` or
        ``"interpolate"`` (see :func:`fill_gaps`).

    Returns
    -------
    pandas.DataFrame
        Sorted by ``unique_id, ds`` with a fresh index; the frequency is stored in
        ``attrs["freq"]``.

    Raises
    ------
    InputError
        Listing every problem with file, row and column.

    Examples
    --------
    >>> from capforecast.examples import sample_history_path
    >>> history = read_history(sample_history_path())
    >>> history.attrs["freq"], history["unique_id"].nunique() >= 40
    ('D', True)
    """
    path = Path(path)
    raw, problems = read_raw_table(path)
    if raw is None:
        raise InputError(problems)
    table, problems = HISTORY.validate(raw, file=path.name)
    if problems:
        raise InputError(problems)
    return validate_history(table, file=path.name, freq=freq, gaps=gaps)


GapPolicy = Literal["error", "zero", "interpolate"]


def validate_history(
    table: pd.DataFrame,
    *,
    file: str = "history",
    freq: str | None = None,
    gaps: GapPolicy = "error",
) -> pd.DataFrame:
    """Check the regular grid of a typed history table and return it sorted.

    Rows are named by the table's index, which :func:`read_history` sets to file rows.
    Missing steps inside a series are handled by ``gaps`` (see :func:`fill_gaps`); the
    ids of series that had gaps are in ``attrs["gapped"]``.
    """
    ordered = table.sort_values(["unique_id", "ds"], kind="stable")
    if freq is None:
        freq = infer_freq(ordered)
        if freq is None:
            raise InputError(
                [
                    Problem(
                        file,
                        None,
                        "ds",
                        "cannot infer the frequency of 'ds' (no series has 3 regular "
                        "timestamps); pass freq=, e.g. 'D' or 'W-SUN'",
                    )
                ]
            )
    result, gapped = fill_gaps(ordered, freq, gaps, file=file)
    result.attrs["freq"] = freq
    result.attrs["gapped"] = gapped
    return result


def fill_gaps(
    history: pd.DataFrame, freq: str, policy: GapPolicy = "error", *, file: str = "history"
) -> tuple[pd.DataFrame, list[str]]:
    """Put every series on its regular ``freq`` grid.

    ``policy`` says what fills a missing step inside a series: ``"error"`` (an
    :class:`InputError` naming series and row), ``"zero"`` (no demand was recorded) or
    ``"interpolate"`` (linear between the neighbours). A timestamp off the grid is always
    an error. Returns the table sorted by ``unique_id, ds`` and the ids that had gaps.

    Examples
    --------
    >>> table = pd.DataFrame({"unique_id": "a", "y": [1.0, 3.0],
    ...                       "ds": pd.to_datetime(["2026-01-01", "2026-01-03"])})
    >>> filled, gapped = fill_gaps(table, "D", "interpolate")
    >>> filled["y"].tolist(), gapped
    ([1.0, 2.0, 3.0], ['a'])
    """
    if policy not in ("error", "zero", "interpolate"):
        raise ParameterError(
            f"The 'gaps' parameter must be 'error', 'zero' or 'interpolate'. Got {policy!r}."
        )
    offset = pd.tseries.frequencies.to_offset(freq)
    ordered = history.sort_values(["unique_id", "ds"], kind="stable")
    problems = []
    gapped: list[str] = []
    filled: dict[str, pd.DataFrame] = {}
    steps = 0  # of every series' grid so far: bounded before a grid is built
    for uid, series in ordered.groupby("unique_id", sort=True, observed=True):
        stamps, name = pd.DatetimeIndex(series["ds"]), clipped(str(uid))
        step = (stamps[0] + 2 * offset) - (stamps[0] + offset)  # one whole step (>= 28 days: MS)
        steps += int((stamps[-1] - stamps[0]) / step) + 1
        if steps > LIMITS.rows:
            message = (
                f"series '{name}' from {stamps[0]} to {stamps[-1]} puts the history "
                f"over the limit of {LIMITS.rows} rows on its {freq} grid"
            )
            raise LimitError(message)
        # Evenly spaced from a first stamp on the grid: regular, the common case, found
        # without building the grid (pandas builds weekly ones a date at a time).
        spacing = np.diff(stamps.as_unit("ns").asi8)
        if offset.is_on_offset(stamps[0]) and (spacing == step.value).all():
            continue
        expected = pd.date_range(stamps[0], stamps[-1], freq=offset)
        if len(expected) == len(stamps) and expected.equals(stamps):
            continue
        on_grid = stamps.isin(expected)
        if not on_grid.all():
            row = series.index[~on_grid][0]
            problems.append(
                Problem(
                    file,
                    int(row),
                    "ds",
                    f"series '{name}': timestamp is off the {freq} grid",
                )
            )
            continue
        gapped.append(str(uid))
        absent = expected.difference(stamps)
        if policy == "error":
            after = series.index[stamps.searchsorted(absent[0])]
            problems.append(
                Problem(
                    file,
                    int(after),
                    "ds",
                    f"series '{name}' has {len(absent)} missing {freq} period(s), the first "
                    f"{absent[0].date()}; fill them (0 when there was no demand) or pass "
                    "gaps='zero' or gaps='interpolate'",
                )
            )
            continue
        regular = series.set_index("ds").reindex(expected)
        regular.index.name = "ds"
        if policy == "zero":
            regular["y"] = regular["y"].fillna(0.0)
        else:
            regular["y"] = regular["y"].interpolate(method="linear")
        filled[str(uid)] = regular.ffill().reset_index()[series.columns]
    if problems:
        raise InputError(problems)
    if not filled:
        return ordered.reset_index(drop=True), gapped
    keep = ordered[~ordered["unique_id"].astype(str).isin(filled)]
    result = pd.concat([keep, *filled.values()], ignore_index=True)
    result = result.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    return result, gapped


def infer_freq(history: pd.DataFrame) -> str | None:
    """The frequency of the longest series' timestamps, or ``None`` when irregular."""
    lengths = history.groupby("unique_id", sort=True)["ds"].size()
    longest = lengths.idxmax()
    stamps = pd.DatetimeIndex(history.loc[history["unique_id"] == longest, "ds"].sort_values())
    if len(stamps) < 3:
        return None
    with warnings.catch_warnings():
        # pandas 3 warns that infer_freq will return an offset; both forms are handled.
        warnings.simplefilter("ignore")
        inferred = pd.infer_freq(stamps)
    if inferred is None:
        return None
    return inferred if isinstance(inferred, str) else str(inferred.freqstr)


def resample_history(history: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Average each series over periods of ``freq`` (e.g. ``"W-MON"``); drop partial ones.

    ``y`` is an average number of accelerators, so coarser periods take the mean. A period
    is kept only when every step of the original frequency inside it is present, so a
    half-observed first or last week does not bias the level.

    Examples
    --------
    >>> days = pd.date_range("2026-01-05", periods=15, freq="D")  # Monday .. Monday
    >>> daily = pd.DataFrame({"unique_id": "a", "ds": days, "y": range(15)})
    >>> daily.attrs["freq"] = "D"
    >>> weekly = resample_history(daily, "W-MON")
    >>> weekly[["ds", "y"]].to_dict("list")
    {'ds': [Timestamp('2026-01-05 00:00:00'), Timestamp('2026-01-12 00:00:00')], 'y': [3.0, 10.0]}
    """
    offset = pd.tseries.frequencies.to_offset(freq)
    end_anchored = (pd.offsets.MonthEnd, pd.offsets.QuarterEnd, pd.offsets.YearEnd)
    if isinstance(offset, end_anchored):
        raise ParameterError(
            f"resample_history labels each period by its start; use a start-anchored "
            f"frequency such as 'MS' or 'QS' instead of {freq!r}."
        )
    source = history.attrs.get("freq")
    if source is None:
        raise ParameterError("resample_history needs history.attrs['freq']; use read_history().")
    attributes = [c for c in history.columns if c not in ("unique_id", "ds", "y")]
    bins = pd.Grouper(key="ds", freq=freq, closed="left", label="left")
    grouped = history.groupby(["unique_id", bins], sort=True)
    aggregations = {c: (c, "first") for c in attributes}
    table = grouped.agg(y=("y", "mean"), steps=("y", "size"), **aggregations).reset_index()
    step = pd.tseries.frequencies.to_offset(freq)
    expected = table["ds"].map(
        lambda start: len(pd.date_range(start, start + step, freq=source, inclusive="left"))
    )
    table = table[table["steps"] == expected]
    result = table[["unique_id", "ds", "y", *attributes]].reset_index(drop=True)
    result.attrs["freq"] = freq
    return result
