"""Hierarchies and reconciliation; MinTrace and friends agree with hierarchicalforecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hierarchicalforecast.methods import BottomUp, MinTrace, TopDown
from hypothesis import given, settings
from hypothesis import strategies as st

from capforecast.forecast.hierarchy import (
    aggregate,
    build_hierarchy,
    projection,
    reconcile,
    reconcile_paths,
)

LEVELS = [[], ["org"], ["org", "team"]]


def _history(seed: int = 0, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    teams = {"a": ["a1", "a2"], "b": ["b1", "b2", "b3"]}
    for org, names in teams.items():
        for team in names:
            for k in range(2):
                uid = f"{team}-{k}"
                level = rng.uniform(10, 50)
                y = level + rng.normal(0, 3, n).cumsum() * 0.3 + rng.normal(0, 2, n)
                rows.append(
                    pd.DataFrame(
                        {
                            "unique_id": uid,
                            "ds": pd.date_range("2026-01-01", periods=n, freq="D"),
                            "y": np.clip(y, 0, None),
                            "org": org,
                            "team": team,
                        }
                    )
                )
    table = pd.concat(rows, ignore_index=True)
    table.attrs["freq"] = "D"
    return table


def _base(hierarchy_ids: list[str], seed: int, horizon: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2026-03-01", periods=horizon, freq="D")
    return pd.DataFrame(
        [(uid, d, float(rng.uniform(5, 100))) for uid in hierarchy_ids for d in ds],
        columns=["unique_id", "ds", "mean"],
    )


def test_structure_and_aggregated_history() -> None:
    history = _history()
    table, hierarchy = aggregate(history, LEVELS)
    assert hierarchy.ids[:3] == ["total", "org=a", "org=b"]
    assert hierarchy.summing.shape == (1 + 2 + 5 + 10, 10)
    total = table[table["unique_id"] == "total"].set_index("ds")["y"]
    np.testing.assert_allclose(total, history.groupby("ds")["y"].sum())
    team = table[table["unique_id"] == "org=b/team=b2"].set_index("ds")["y"]
    np.testing.assert_allclose(team, history[history["team"] == "b2"].groupby("ds")["y"].sum())


@pytest.mark.parametrize("method", ["bottom_up", "ols", "wls_struct", "mint_shrink", "top_down"])
def test_agrees_with_hierarchicalforecast(method: str) -> None:
    history = _history(seed=1)
    _, hierarchy = aggregate(history, LEVELS)
    base = _base(hierarchy.ids, seed=2)
    rng = np.random.default_rng(3)
    insample = rng.normal(0, 1, (len(hierarchy.ids), 30)).cumsum(axis=1) + 50
    fitted = insample + rng.normal(0, 1.5, insample.shape)
    residuals = pd.DataFrame(
        [
            (uid, t, float(insample[i, t] - fitted[i, t]))
            for i, uid in enumerate(hierarchy.ids)
            for t in range(insample.shape[1])
        ],
        columns=["unique_id", "ds", "residual"],
    )
    ours = reconcile(base, hierarchy, method, residuals=residuals)  # type: ignore[arg-type]
    y_hat = base.pivot(index="unique_id", columns="ds", values="mean").reindex(hierarchy.ids)
    reference = {
        "bottom_up": BottomUp(),
        "ols": MinTrace(method="ols"),
        "wls_struct": MinTrace(method="wls_struct"),
        "mint_shrink": MinTrace(method="mint_shrink"),
        "top_down": TopDown(method="forecast_proportions"),
    }[method]
    tags = {
        name: np.array([hierarchy.ids.index(i) for i in ids])
        for name, ids in hierarchy.levels.items()
    }
    kwargs: dict[str, object] = {"tags": tags}
    if method == "mint_shrink":
        kwargs |= {"y_insample": insample, "y_hat_insample": fitted}
    theirs = reference.fit_predict(S=hierarchy.summing, y_hat=y_hat.to_numpy(), **kwargs)["mean"]
    got = ours.pivot(index="unique_id", columns="ds", values="mean").reindex(hierarchy.ids)
    np.testing.assert_allclose(got.to_numpy(), theirs, rtol=1e-6, atol=1e-6)


@given(seed=st.integers(0, 10_000), method=st.sampled_from(["bottom_up", "ols", "wls_struct"]))
@settings(max_examples=30, deadline=None)
def test_reconciled_forecasts_and_paths_add_up(seed: int, method: str) -> None:
    attributes = _history(n=3)[["unique_id", "org", "team"]]
    hierarchy = build_hierarchy(attributes, LEVELS)
    base = _base(hierarchy.ids, seed)
    coherent = reconcile(base, hierarchy, method)  # type: ignore[arg-type]
    wide = coherent.pivot(index="unique_id", columns="ds", values="mean").reindex(hierarchy.ids)
    bottom = wide.loc[hierarchy.bottom].to_numpy()
    np.testing.assert_allclose(wide.to_numpy(), hierarchy.summing @ bottom, rtol=1e-9)
    paths = base.assign(path=0, value=base["mean"])
    paths = pd.concat([paths, base.assign(path=1, value=base["mean"] * 1.1)])
    reconciled = reconcile_paths(paths, hierarchy, method)  # type: ignore[arg-type]
    for _, one in reconciled.groupby("path"):
        matrix = one.pivot(index="unique_id", columns="ds", values="value").reindex(hierarchy.ids)
        np.testing.assert_allclose(
            matrix.to_numpy(),
            hierarchy.summing @ matrix.loc[hierarchy.bottom].to_numpy(),
            rtol=1e-9,
        )


def test_projection_reproduces_coherent_forecasts() -> None:
    attributes = _history(n=3)[["unique_id", "org", "team"]]
    hierarchy = build_hierarchy(attributes, LEVELS)
    bottom = np.random.default_rng(0).uniform(1, 10, len(hierarchy.bottom))
    coherent = hierarchy.summing @ bottom
    for method in ("bottom_up", "ols", "wls_struct"):
        P = projection(hierarchy, method)  # type: ignore[arg-type]
        np.testing.assert_allclose(hierarchy.summing @ P @ coherent, coherent, rtol=1e-9)


def test_top_down_refuses_crossed_levels_and_bottom_spans_are_kept() -> None:
    history = _history(n=10)
    history["region"] = np.where(history["unique_id"].str.endswith("0"), "us", "eu")
    _, crossed = aggregate(history, [[], ["org"], ["region"]])
    with pytest.raises(ValueError, match="nested levels"):
        reconcile(_base(crossed.ids, 0), crossed, "top_down")
    late = history[~((history["unique_id"] == "a1-0") & (history["ds"] < "2026-01-05"))]
    table, _ = aggregate(late, LEVELS)
    assert table.loc[table["unique_id"] == "a1-0", "ds"].min() == pd.Timestamp("2026-01-05")
    assert table.loc[table["unique_id"] == "total", "ds"].min() == pd.Timestamp("2026-01-01")
