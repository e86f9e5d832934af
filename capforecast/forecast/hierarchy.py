"""Hierarchies of series and forecast reconciliation.

:func:`aggregate` builds the aggregation structure from attribute columns (for example
``total -> org -> team -> series``) and the aggregated history; :func:`reconcile` makes
base forecasts of every level coherent (aggregates equal the sum of their parts) with
bottom-up, top-down by forecast proportions, or MinTrace (``ols``, ``wls_struct``,
``mint_shrink``; Wickramasuriya, Athanasopoulos & Hyndman, 2019). Reconciliation is a
linear map ``ŷ -> S P ŷ``; applied path by path (:func:`reconcile_paths`) it keeps sample
paths coherent too.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from capforecast.core.errors import ParameterError

Method = Literal["bottom_up", "top_down", "ols", "wls_struct", "mint_shrink"]
METHODS: tuple[str, ...] = ("bottom_up", "top_down", "ols", "wls_struct", "mint_shrink")
TOTAL = "total"


@dataclass(frozen=True)
class Hierarchy:
    """The summing matrix ``S`` (every series x bottom series) and the level of each row.

    Rows are ordered top level first; the bottom series (the history's ``unique_id``)
    come last, in sorted order.
    """

    ids: list[str]
    bottom: list[str]
    summing: np.ndarray
    levels: dict[str, list[str]]

    @property
    def n_aggregates(self) -> int:
        """Rows of ``S`` above the bottom level."""
        return len(self.ids) - len(self.bottom)


def _level_name(columns: Sequence[str]) -> str:
    return "/".join(columns) if columns else TOTAL


def build_hierarchy(attributes: pd.DataFrame, levels: Sequence[Sequence[str]]) -> Hierarchy:
    """The hierarchy of ``levels`` (lists of attribute columns; ``[]`` is the total).

    Examples
    --------
    >>> attributes = pd.DataFrame({"unique_id": ["a", "b", "c"], "org": ["x", "x", "y"]})
    >>> h = build_hierarchy(attributes, [[], ["org"]])
    >>> h.ids
    ['total', 'org=x', 'org=y', 'a', 'b', 'c']
    >>> h.summing.astype(int).tolist()[:3]
    [[1, 1, 1], [1, 1, 0], [0, 0, 1]]
    """
    series = attributes.drop_duplicates("unique_id").set_index("unique_id").sort_index()
    bottom = [str(u) for u in series.index]
    ids: list[str] = []
    rows: list[np.ndarray] = []
    names: dict[str, list[str]] = {}
    for level in levels:
        missing = [c for c in level if c not in series.columns]
        if missing:
            raise ParameterError(
                f"Hierarchy level {list(level)} names columns {missing} that the history "
                f"does not have; it has {sorted(series.columns)}."
            )
        if not level:
            keys = pd.Series(TOTAL, index=series.index)
        else:
            keys = (
                series[list(level)]
                .astype(str)
                .apply(lambda row, level=level: "/".join(f"{c}={row[c]}" for c in level), axis=1)
            )
        level_ids = sorted(pd.unique(keys))
        names[_level_name(level)] = level_ids
        for key in level_ids:
            ids.append(key)
            rows.append((keys == key).to_numpy(dtype=float))
    names["unique_id"] = bottom
    summing = np.vstack([*rows, np.eye(len(bottom))]) if rows else np.eye(len(bottom))
    return Hierarchy(ids + bottom, bottom, summing, names)


def aggregate(
    history: pd.DataFrame, levels: Sequence[Sequence[str]]
) -> tuple[pd.DataFrame, Hierarchy]:
    """The history of every series of the hierarchy (aggregates summed from the bottom).

    A bottom series missing at a timestamp counts as 0 in the sums.
    """
    hierarchy = build_hierarchy(history, levels)
    wide = history.pivot_table(index="ds", columns="unique_id", values="y", aggfunc="sum")
    wide = wide.reindex(columns=hierarchy.bottom).fillna(0.0)
    totals = wide.to_numpy() @ hierarchy.summing.T
    long = pd.DataFrame(totals, index=wide.index, columns=hierarchy.ids)
    table = long.reset_index().melt(id_vars="ds", var_name="unique_id", value_name="y")
    # Bottom series keep their own span; only the sums count a missing value as 0.
    observed = set(zip(history["unique_id"].astype(str), history["ds"], strict=True))
    bottom = set(hierarchy.bottom)
    keep = [
        uid not in bottom or (uid, ds) in observed
        for uid, ds in zip(table["unique_id"], table["ds"], strict=True)
    ]
    table = table.loc[keep, ["unique_id", "ds", "y"]]
    table = table.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    table.attrs.update(history.attrs)
    return table, hierarchy


def shrunk_covariance(residuals: np.ndarray, ridge: float = 2e-8) -> np.ndarray:
    """Schäfer-Strimmer shrinkage of the residual covariance towards its diagonal.

    ``residuals`` is ``[series, time]``. The off-diagonal of the sample covariance is
    scaled by ``1 - λ``, with ``λ = Σ Var(r_ij) / Σ r_ij²`` over pairs of series (``r`` the
    correlations of the centred, standardised residuals; ``Var(r_ij)`` estimated with the
    factor ``1 / (T (T-1))``), clipped to [0, 1]; the diagonal is floored at ``ridge``. This
    is the estimator of the MinT paper as Nixtla ``hierarchicalforecast`` computes it.
    """
    eps = 2e-8
    T = residuals.shape[1]
    centred = residuals - residuals.mean(axis=1, keepdims=True)
    covariance = centred @ centred.T / (T - 1)
    scaled = centred / (np.sqrt((centred**2).mean(axis=1)) + eps)[:, None]
    correlation = scaled @ scaled.T / T  # mean of w_k = xs_i,k · xs_j,k
    squares = scaled**2 @ (scaled**2).T  # Σ_k w_k²
    variance = squares - T * correlation**2  # Σ_k (w_k - mean w)²
    off = ~np.eye(len(residuals), dtype=bool)
    intensity = (variance[off].sum() / (T * (T - 1))) / ((correlation[off] ** 2).sum() + 2 * eps)
    keep = 1.0 - min(max(float(intensity), 0.0), 1.0)
    shrunk = np.where(off, keep * covariance, covariance)
    np.fill_diagonal(shrunk, np.maximum(np.diag(covariance), ridge))
    return shrunk


def projection(
    hierarchy: Hierarchy,
    method: Method,
    base: np.ndarray | None = None,
    residuals: np.ndarray | None = None,
) -> np.ndarray:
    """``P`` with reconciled forecasts ``S P ŷ``, as ``[bottom, every series]``.

    ``top_down`` needs ``base`` (one column of base forecasts, every series) and gives a
    ``P`` for that column; ``mint_shrink`` needs in-sample ``residuals`` ``[series, time]``.
    """
    S = hierarchy.summing
    n_all, n_bottom = S.shape
    if method == "bottom_up":
        return np.hstack([np.zeros((n_bottom, n_all - n_bottom)), np.eye(n_bottom)])
    if method == "top_down":
        if base is None:
            raise ParameterError("top_down reconciliation needs the base forecasts.")
        return _top_down(hierarchy, base)
    if method == "ols":
        weights = np.eye(n_all)
    elif method == "wls_struct":
        weights = np.diag(S.sum(axis=1))
    elif method == "mint_shrink":
        if residuals is None:
            raise ParameterError("mint_shrink reconciliation needs in-sample residuals.")
        weights = shrunk_covariance(residuals)
    else:
        raise ParameterError(f"Unknown reconciliation method '{method}'; choose one of {METHODS}.")
    inverse_s = np.linalg.solve(weights, S)  # W⁻¹ S
    return np.linalg.solve(S.T @ inverse_s, inverse_s.T)  # (S' W⁻¹ S)⁻¹ S' W⁻¹


def _top_down(hierarchy: Hierarchy, base: np.ndarray) -> np.ndarray:
    """Forecast proportions (Athanasopoulos, Ahmed & Hyndman, 2009) for one step."""
    S = hierarchy.summing
    position = {series: i for i, series in enumerate(hierarchy.ids)}
    level_rows = [[position[i] for i in ids] for ids in hierarchy.levels.values()]
    if len(level_rows[0]) != 1:
        raise ParameterError("top_down needs a single series at the top level (the total).")
    share = np.ones(len(hierarchy.bottom))
    for upper, lower in itertools.pairwise(level_rows):
        parents = [[p for p in upper if np.all(S[c] <= S[p])] for c in lower]
        if any(len(found) != 1 for found in parents):
            raise ParameterError(
                "top_down needs nested levels (each series inside exactly one series of the "
                "level above); use bottom_up or MinTrace for crossed attributes."
            )
        for parent in upper:
            children = [c for c in lower if np.all(S[c] <= S[parent]) and S[c].any()]
            total = sum(base[c] for c in children)
            for child in children:
                ratio = base[child] / total if total != 0 else 1.0 / len(children)
                share[S[child] > 0] *= ratio
    top = np.zeros(len(hierarchy.ids))
    top[level_rows[0][0]] = 1.0
    return np.outer(share, top)


def reconcile(
    forecasts: pd.DataFrame,
    hierarchy: Hierarchy,
    method: Method = "mint_shrink",
    *,
    residuals: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Coherent point forecasts of every series of ``hierarchy``.

    Interval bounds are quantiles, which do not add up: reconcile sample paths with
    :func:`reconcile_paths` and take quantiles of the result instead.

    Parameters
    ----------
    forecasts
        Base forecasts ``unique_id, ds, mean`` of every series of the hierarchy (one
        model; filter the forecast table first).
    hierarchy
        From :func:`aggregate` or :func:`build_hierarchy`.
    method
        ``bottom_up``, ``top_down`` (forecast proportions), ``ols``, ``wls_struct`` or
        ``mint_shrink``.
    residuals
        In-sample residuals ``unique_id, ds, residual`` of every series (``mint_shrink``).
    """
    if method not in METHODS:
        raise ParameterError(f"Unknown reconciliation method '{method}'; choose one of {METHODS}.")
    wide = forecasts.pivot(index="unique_id", columns="ds", values="mean").reindex(hierarchy.ids)
    missing = wide.index[wide.isna().any(axis=1)].tolist()
    if missing:
        raise ParameterError(
            f"Base forecasts are missing for {len(missing)} series of the hierarchy: {missing[:5]}."
        )
    base = wide.to_numpy()
    if method == "top_down":
        # The proportions differ from step to step: one projection per step.
        coherent = np.column_stack(
            [
                hierarchy.summing @ projection(hierarchy, "top_down", base[:, j]) @ base[:, j]
                for j in range(base.shape[1])
            ]
        )
    else:
        residual_matrix = _residual_matrix(residuals, hierarchy)
        coherent = hierarchy.summing @ projection(hierarchy, method, None, residual_matrix) @ base
    table = pd.DataFrame(coherent, index=wide.index, columns=wide.columns)
    result = table.stack().rename("mean").reset_index()
    result.columns = ["unique_id", "ds", "mean"]
    return result


def reconcile_paths(
    paths: pd.DataFrame,
    hierarchy: Hierarchy,
    method: Method = "bottom_up",
    *,
    residuals: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Reconcile sample paths ``unique_id, ds, path, value``: each path becomes coherent.

    ``top_down`` is not offered for paths (its proportions change from path to path).
    """
    if method == "top_down":
        raise ParameterError("top_down is not available for paths; use bottom_up or MinTrace.")
    residual_matrix = _residual_matrix(residuals, hierarchy)
    mapping = hierarchy.summing @ projection(hierarchy, method, None, residual_matrix)
    frames = []
    for path, one in paths.assign(unique_id=paths["unique_id"].astype(str)).groupby(
        "path", sort=True
    ):
        wide = one.pivot(index="unique_id", columns="ds", values="value").reindex(hierarchy.ids)
        if wide.isna().to_numpy().any():
            raise ParameterError(f"Path {path} lacks values for some series of the hierarchy.")
        coherent = pd.DataFrame(mapping @ wide.to_numpy(), index=wide.index, columns=wide.columns)
        frames.append(coherent.stack().rename("value").reset_index().assign(path=path))
    result = pd.concat(frames, ignore_index=True)[["unique_id", "ds", "path", "value"]]
    return result.sort_values(["unique_id", "path", "ds"], kind="stable", ignore_index=True)


def _residual_matrix(residuals: pd.DataFrame | None, hierarchy: Hierarchy) -> np.ndarray | None:
    """In-sample residuals as ``[series, time]``, timestamps where every series has one."""
    if residuals is None:
        return None
    wide = residuals.pivot(index="unique_id", columns="ds", values="residual")
    return wide.reindex(hierarchy.ids).dropna(axis=1).to_numpy()
