"""M4 Weekly: accuracy and speed of capforecast against statsforecast, in the same run.

Run ``python benchmarks/m4.py`` (all 359 series; ``--series N`` for a quick look). The
data is ``../shared/data/m4_weekly.parquet``; the last 13 weeks of every series are the
test set, as in M4. sMAPE is in percent; MASE scales by the in-sample naive error
(seasonality 1, as M4 does for weekly data); OWA = (sMAPE / 9.161 + MASE / 2.777) / 2
against M4's published Naive2. capforecast's models run at their defaults for weekly data
(season length 52); statsforecast's at season length 1, as measured before, and AutoTheta
also at 52 (statsforecast's AutoETS and AutoARIMA at season 52 take 2.5 s and over 15 s per
series: out of reach of this run). Prophet runs at its defaults through capforecast's
wrapper. Both libraries use every core. statsforecast's times are warm (it compiles with
numba on first use: that cold start is reported separately). The result replaces the
``m4`` section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import markdown_table, write_section  # noqa: E402
from capforecast import forecast  # noqa: E402
from capforecast.forecast import metrics  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "m4_weekly.parquet"
HORIZON = 13
NAIVE2_SMAPE, NAIVE2_MASE = 9.161, 2.777


def load(series: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = pd.read_parquet(DATA)
    if series is not None:
        keep = sorted(table["unique_id"].unique(), key=lambda u: int(u[1:]))[:series]
        table = table[table["unique_id"].isin(keep)]
    table = table.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    position = table.groupby("unique_id").cumcount(ascending=False)
    train, test = table[position >= HORIZON].copy(), table[position < HORIZON].copy()
    train.attrs["freq"] = "W-SUN"
    return train, test


def score(
    name: str,
    predictions: pd.DataFrame,
    train: pd.DataFrame,
    test: pd.DataFrame,
    seconds: float,
) -> dict[str, object]:
    """sMAPE, MASE, OWA and interval coverage of ``predictions`` (unique_id, ds, mean...)."""
    merged = test.merge(predictions, on=["unique_id", "ds"], how="left")
    if merged["mean"].isna().any():
        raise RuntimeError(f"{name}: missing forecasts")
    history = {uid: g["y"].to_numpy() for uid, g in train.groupby("unique_id")}
    smapes, mases, inside80, inside95 = [], [], [], []
    for uid, group in merged.groupby("unique_id"):
        y, y_hat = group["y"].to_numpy(), group["mean"].to_numpy()
        smapes.append(metrics.smape(y, y_hat))
        mases.append(metrics.mase(y, y_hat, history[str(uid)], 1))
        if "lo-80" in group:
            inside80.append(metrics.coverage(y, group["lo-80"], group["hi-80"]))
            inside95.append(metrics.coverage(y, group["lo-95"], group["hi-95"]))
    smape, mase = float(np.mean(smapes)), float(np.nanmean(mases))
    n_series = merged["unique_id"].nunique()
    return {
        "model": name,
        "sMAPE": round(smape, 3),
        "MASE": round(mase, 3),
        "OWA": round(0.5 * (smape / NAIVE2_SMAPE + mase / NAIVE2_MASE), 3),
        "coverage 80": f"{np.mean(inside80):.1%}" if inside80 else "n/a",
        "coverage 95": f"{np.mean(inside95):.1%}" if inside95 else "n/a",
        "seconds": round(seconds, 1),
        "ms per series": round(1000 * seconds / n_series, 1),
    }


def timed(function: Callable[[], pd.DataFrame]) -> tuple[pd.DataFrame, float]:
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def run_capforecast(train: pd.DataFrame, test: pd.DataFrame) -> list[dict[str, object]]:
    rows = []
    models = ("naive", "theta", "auto_ets", "auto_arima", "prophet", "ensemble", "auto")
    for model in models:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fallbacks are counted in the accuracy
            table, seconds = timed(
                partial(forecast, train, HORIZON, models=[model], levels=[80, 95], n_jobs=-1)
            )
        rows.append(score(f"capforecast {model}", table, train, test, seconds))
    return rows


Rows = list[dict[str, object]]


def run_statsforecast(train: pd.DataFrame, test: pd.DataFrame) -> tuple[Rows, float]:
    """Warm runs of statsforecast's models, and the cold start of its first call."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    frame = train[["unique_id", "ds", "y"]]
    first = frame[frame["unique_id"].isin(frame["unique_id"].unique()[:1])]
    models = [
        (AutoETS(season_length=1), "AutoETS"),
        (AutoARIMA(season_length=1), "AutoARIMA"),
        (AutoTheta(season_length=1), "AutoTheta"),
        (AutoTheta(season_length=52), "AutoTheta (season 52)"),
    ]
    rows: Rows = []
    cold = 0.0
    for model, label in models:
        # Warm up: numba compiles each model on its first call (and caches it on disk).
        # A fresh engine for the timed run: statsforecast fixes its number of processes
        # from the first data it sees (one series: one process).
        warm_up = StatsForecast(models=[model], freq="W-SUN", n_jobs=-1)
        _, seconds = timed(partial(warm_up.forecast, df=first, h=HORIZON, level=[80]))
        cold += seconds
        engine = StatsForecast(models=[model], freq="W-SUN", n_jobs=-1)
        table, seconds = timed(partial(engine.forecast, df=frame, h=HORIZON, level=[80, 95]))
        alias = str(model)
        renamed = table.rename(
            columns={
                alias: "mean",
                f"{alias}-lo-80": "lo-80",
                f"{alias}-hi-80": "hi-80",
                f"{alias}-lo-95": "lo-95",
                f"{alias}-hi-95": "hi-95",
            }
        ).reset_index()
        rows.append(score(f"statsforecast {label}", renamed, train, test, seconds))
    return rows, cold


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=None, help="first N series only")
    args = parser.parse_args()
    train, test = load(args.series)
    # Cold start: the first call of each library pays for imports (and numba compiles).
    _, cold_ours = timed(
        lambda: forecast(train[train["unique_id"] == "W1"], HORIZON, models=["auto"], n_jobs=1)
    )
    ours = run_capforecast(train, test)
    theirs, cold_theirs = run_statsforecast(train, test)
    rows = ours + theirs
    rows.sort(key=lambda row: float(row["OWA"]))  # type: ignore[arg-type]
    table = markdown_table(rows)
    print(table)
    text = "\n".join(
        [
            "## M4 Weekly (`benchmarks/m4.py`)",
            "",
            f"Latest run: {time.strftime('%Y-%m-%d')}, {train['unique_id'].nunique()} series, "
            f"h = {HORIZON}, {os.cpu_count()} cores, Python {platform.python_version()}. "
            "capforecast at its weekly defaults (season 52), statsforecast at season 1 "
            "unless stated. Published M4 OWA for reference: Naive2 1.000, SES 0.975, Theta "
            "0.971, Damped 0.917. Cold start (imports, compilation) of the first call on "
            f"one series: capforecast `auto` {cold_ours:.1f} s; statsforecast, summed over "
            f"its four models, {cold_theirs:.1f} s (its times below are warm).",
            "",
            table,
        ]
    )
    write_section("m4", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
