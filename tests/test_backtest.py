"""Backtests, metrics and selection; metrics agree with Nixtla utilsforecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from utilsforecast import losses

from capforecast.forecast import metrics
from capforecast.forecast.backtest import cross_validation, evaluate, select_models


def _history(n_series: int = 4, n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_series):
        t = np.arange(n)
        y = 40 + (i + 1) * 0.5 * t + 5 * (t % 7 == 0) + rng.normal(0, 3, n)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{i}",
                    "ds": pd.date_range("2026-01-01", periods=n, freq="D"),
                    "y": np.clip(y, 0, None),
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table.attrs["freq"] = "D"
    return table


def test_windows_are_placed_without_leakage() -> None:
    history = _history()
    table = cross_validation(history, 7, models=["naive"], n_windows=3, step=5, levels=[80])
    one = table[table["unique_id"] == "s0"]
    assert one["cutoff"].nunique() == 3
    series = history[history["unique_id"] == "s0"].set_index("ds")["y"]
    for cutoff, window in one.groupby("cutoff"):
        # The naive forecast repeats the last value before the cutoff: no future data used.
        assert (window["mean"] == series.loc[cutoff]).all()
        assert (window["ds"] > cutoff).all() and len(window) == 7
        np.testing.assert_array_equal(window["y"], series.loc[window["ds"]].to_numpy())
    last = one["cutoff"].max()
    assert last == series.index[-8]


def test_refit_false_keeps_parameters_and_updates_state() -> None:
    history = _history(n_series=1)
    refit = cross_validation(history, 5, models=["ets"], n_windows=3, refit=True)
    update = cross_validation(history, 5, models=["ets"], n_windows=3, refit=False)
    first = refit["cutoff"].min()
    np.testing.assert_allclose(
        refit.loc[refit["cutoff"] == first, "mean"], update.loc[update["cutoff"] == first, "mean"]
    )
    later = update[update["cutoff"] > first]
    assert np.isfinite(later["mean"]).all()
    assert not np.allclose(
        later["mean"], refit.loc[refit["cutoff"] > first, "mean"].to_numpy()
    )  # updated, not re-estimated


def test_metrics_agree_with_utilsforecast() -> None:
    history = _history()
    table = cross_validation(history, 10, models=["theta", "drift"], n_windows=1, levels=[80, 95])
    ours = evaluate(table, history, season_length=1)
    wide = table.pivot_table(
        index=["unique_id", "ds", "cutoff", "y"],
        columns="model",
        values=["mean", "lo-80", "hi-80", "lo-95", "hi-95"],
    )
    wide.columns = [name if stat == "mean" else f"{name}-{stat}" for stat, name in wide.columns]
    wide = wide.reset_index().drop(columns="cutoff")
    models = ["Theta", "Drift"]
    train = history[history["ds"] <= table["cutoff"].max()]
    theirs = {
        "mae": losses.mae(wide, models),
        "rmse": losses.rmse(wide, models),
        "bias": losses.bias(wide, models),
        "smape": losses.smape(wide, models),
        "mase": losses.mase(wide, models, seasonality=1, train_df=train),
        "rmsse": losses.rmsse(wide, models, seasonality=1, train_df=train),
        "coverage-80": losses.coverage(wide, models, level=80),
        "coverage-95": losses.coverage(wide, models, level=95),
        "winkler-80": losses.winkler_score(wide, models, level=80),
        "winkler-95": losses.winkler_score(wide, models, level=95),
    }
    quantiles = np.array([0.025, 0.1, 0.9, 0.975])
    quantile_columns = {m: [f"{m}-lo-95", f"{m}-lo-80", f"{m}-hi-80", f"{m}-hi-95"] for m in models}
    theirs["scaled_crps"] = losses.scaled_crps(wide, quantile_columns, quantiles)
    for metric, frame in theirs.items():
        expected = frame.melt(id_vars="unique_id", var_name="model", value_name=metric)
        merged = ours.merge(expected, on=["unique_id", "model"], suffixes=("", "_theirs"))
        assert len(merged) == 8, metric
        factor = 200.0 if metric == "smape" else 1.0  # M4 reports sMAPE in percent
        np.testing.assert_allclose(
            merged[metric], factor * merged[f"{metric}_theirs"], rtol=1e-9, err_msg=metric
        )
    # MSIS is the Winkler score over MASE's scale, so their ratios agree.
    np.testing.assert_allclose(
        ours["msis-80"] / ours["winkler-80"], ours["mase"] / ours["mae"], rtol=1e-9
    )


def test_select_models_picks_the_lowest_score() -> None:
    history = _history()
    table = cross_validation(history, 7, models=["naive", "drift"], n_windows=2)
    scores = evaluate(table, history)
    chosen = select_models(scores)
    for uid, model in chosen.items():
        rows = scores[scores["unique_id"] == uid].set_index("model")["mase"]
        assert rows[model] == rows.min()
    with pytest.raises(ValueError, match="Cannot select by 'bias'"):
        select_models(scores, metric="bias")


def test_pinball_and_interval_quantiles() -> None:
    y = np.array([1.0, 2.0, 3.0])
    assert metrics.pinball(y, y, 0.3) == 0.0
    assert metrics.pinball(y, y + 1, 0.25) == pytest.approx(0.75)
    assert [q for _, q in metrics.interval_quantiles([80, 95])] == [0.025, 0.1, 0.9, 0.975]


def test_short_series_are_skipped_and_named() -> None:
    history = _history(n_series=2, n=80)
    short = history[(history["unique_id"] == "s1")].iloc[:12]
    mixed = pd.concat([history[history["unique_id"] == "s0"], short], ignore_index=True)
    mixed.attrs["freq"] = "D"
    table = cross_validation(mixed, 7, models=["naive"], n_windows=2)
    assert table.attrs["skipped"] == ["s1"]
    assert set(table["unique_id"]) == {"s0"}
