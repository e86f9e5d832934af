"""Cross-series dependence of sample paths, taken from the history (a Schaake shuffle).

Each series is simulated on its own, so its paths are right for that series but pair at
random with the paths of the others: summing independent paths across workloads
understates how often they peak together. :func:`pair_paths` re-pairs them. A set of past
dates is drawn once for the whole panel, one per path; for each series, the path ranked
``k``-th by its mean over the horizon is given to the date whose following ``horizon``
steps rose ``k``-th most in that series' own history. Series that rose together in the
past then get high paths together. Every series keeps exactly its own set of paths, each
path intact; only which path sits at which index changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _window_changes(y: np.ndarray, horizon: int) -> np.ndarray:
    """For every start ``j``, the mean of ``y[j+1 : j+1+horizon]`` minus ``y[j]``."""
    if len(y) <= horizon:
        return np.empty(0)
    sums = np.convolve(y[1:], np.ones(horizon), mode="valid")
    return sums / horizon - y[: len(sums)]


def pair_paths(
    paths: Sequence[np.ndarray],
    stamps: Sequence[pd.DatetimeIndex],
    values: Sequence[np.ndarray],
    horizon: int,
    seed: int,
) -> list[np.ndarray]:
    """Re-pair the paths of several series by their joint history.

    Parameters
    ----------
    paths
        Per series, an array ``[path, step]`` (the same number of paths for every series).
    stamps, values
        Per series, the history's timestamps and values.
    horizon
        Steps per path.
    seed
        Draws the past dates (and breaks ties); the same panel and seed give the same
        pairing.

    Returns
    -------
    list of numpy.ndarray
        Per series, the same paths in a new order.

    Examples
    --------
    >>> ds = pd.date_range("2026-01-01", periods=60, freq="D")
    >>> trend = np.abs(np.sin(np.arange(60) / 5)) * 10
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(0, 1, (50, 3)), rng.normal(0, 1, (50, 3))
    >>> pa, pb = pair_paths([a, b], [ds, ds], [trend, 2 * trend], 3, seed=1)
    >>> bool(np.corrcoef(pa.mean(axis=1), pb.mean(axis=1))[0, 1] > 0.8)
    True
    """
    n_paths = len(paths[0])
    changes = []
    for stamp, y in zip(stamps, values, strict=True):
        found = _window_changes(np.asarray(y, dtype=float), horizon)
        changes.append(pd.Series(found, index=stamp[: len(found)]))
    dates = pd.DatetimeIndex(sorted(set().union(*(c.index for c in changes))))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5CAA]))
    anchors = dates[rng.integers(0, len(dates), n_paths)] if len(dates) else None
    paired = []
    for series_paths, change in zip(paths, changes, strict=True):
        # Ties (a date drawn twice, a flat history) and missing dates break at random.
        noise = rng.random(n_paths)
        template = (
            change.reindex(anchors).to_numpy(dtype=float)
            if anchors is not None
            else np.full(n_paths, np.nan)
        )
        missing = np.isnan(template)
        if missing.any():
            fill = change.to_numpy() if len(change) else np.zeros(1)
            template[missing] = fill[rng.integers(0, len(fill), int(missing.sum()))]
        target_rank = np.lexsort((noise, template)).argsort()
        by_level = series_paths[np.argsort(series_paths.mean(axis=1), kind="stable")]
        paired.append(by_level[target_rank])
    return paired
