"""Scale: 2,000 daily series of two years, against statsforecast in the same run.

Run ``python benchmarks/scale.py`` (``--series N`` for a quick look). The panel is
generated from a fixed seed (trend, weekly season, launch steps, noise; never negative);
its last 28 days are the test set. Two parts:

- Speed and accuracy: capforecast's default model (ETS) and ``auto``, and
  statsforecast's AutoETS and AutoARIMA, all at season 7 with 80/95 intervals on every
  core; seconds (statsforecast warm: its first call is timed apart) and mean MASE
  (scaled by the in-sample naive error).
- The panel engine: the default model three ways, in this process, on 2 local processes
  (joblib) and on a Dask ``LocalCluster`` of 2 single-threaded workers; wall clock,
  speed-up over one process, peak memory (resident set size) of the parent and of the
  largest worker, and a check that the three tables are identical.

The result replaces the ``scale`` section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

# One thread per process, in this process too: otherwise BLAS spreads the "1 process" run
# over every core and the speed-up of 2 processes is understated.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import markdown_table, write_section  # noqa: E402
from capforecast import forecast  # noqa: E402
from capforecast.forecast import metrics  # noqa: E402

DAYS = 730
HORIZON = 28


def panel(n_series: int, seed: int = 2026) -> pd.DataFrame:
    """``n_series`` daily series of two years, seeded."""
    rng = np.random.default_rng(seed)
    t = np.arange(DAYS)
    level = rng.uniform(20, 500, (n_series, 1))
    trend = rng.normal(0.002, 0.001, (n_series, 1)) * level * t
    weekly = rng.uniform(0, 0.2, (n_series, 1)) * level * (t % 7 < 5)
    launch = rng.integers(100, DAYS, (n_series, 1))
    steps = rng.uniform(0, 0.3, (n_series, 1)) * level * (t >= launch)
    noise = rng.normal(0, 0.05, (n_series, DAYS)) * level
    y = np.clip(level + trend + weekly + steps + noise, 0, None)
    ids = np.array([f"s{i:04d}" for i in range(n_series)])
    table = pd.DataFrame(
        {
            "unique_id": np.repeat(ids, DAYS),
            "ds": np.tile(pd.date_range("2024-12-01", periods=DAYS, freq="D"), n_series),
            "y": y.ravel(),
        }
    )
    table.attrs["freq"] = "D"
    return table


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def peak_mb(who: int) -> float:
    """Peak resident memory in MB of this process or of its largest child (Linux: KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024


def split(history: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The history without its last ``HORIZON`` days, and those days."""
    last = history.groupby("unique_id").cumcount(ascending=False) < HORIZON
    train, test = history[~last].reset_index(drop=True), history[last].reset_index(drop=True)
    train.attrs["freq"] = "D"
    return train, test


def accuracy(
    predictions: pd.DataFrame, column: str, train: pd.DataFrame, test: pd.DataFrame
) -> dict[str, object]:
    """Mean MASE over the series of the forecasts in ``column`` (clipped at zero), and
    the coverage of its 80% and 95% intervals (``<column>-lo-80`` ... or ``lo-80`` ...)."""
    prefix = "" if column == "mean" else f"{column}-"
    bounds = [f"{prefix}{side}-{level}" for level in (80, 95) for side in ("lo", "hi")]
    merged = test.merge(predictions[["unique_id", "ds", column, *bounds]], on=["unique_id", "ds"])
    if len(merged) != len(test):
        raise RuntimeError(f"{column}: missing forecasts")
    history = {uid: g["y"].to_numpy() for uid, g in train.groupby("unique_id")}
    scores = [
        metrics.mase(g["y"].to_numpy(), np.clip(g[column].to_numpy(), 0, None), history[uid], 1)
        for uid, g in merged.groupby("unique_id")
    ]
    found: dict[str, object] = {"MASE": round(float(np.mean(scores)), 3)}
    y = merged["y"].to_numpy()
    for level in (80, 95):
        lo, hi = merged[f"{prefix}lo-{level}"], merged[f"{prefix}hi-{level}"]
        found[f"coverage {level}"] = f"{np.mean((y >= lo) & (y <= hi)):.1%}"
    return found


def against_statsforecast(
    train: pd.DataFrame, test: pd.DataFrame
) -> tuple[list[dict[str, object]], float]:
    """Seconds and MASE of capforecast's ETS and auto and statsforecast's AutoETS and
    AutoARIMA, every core each; and statsforecast's cold start (first calls)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS

    series = train["unique_id"].nunique()
    rows: list[dict[str, object]] = []

    def row(name: str, seconds: float, scores: dict[str, object]) -> None:
        rows.append(
            {
                "model": name,
                "seconds": round(seconds, 1),
                "ms per series": round(1000 * seconds / series, 1),
                **scores,
            }
        )

    for model in ("ets", "auto"):
        started = time.perf_counter()
        table = forecast(train, HORIZON, models=[model], levels=[80, 95], n_jobs=-1)
        row(
            f"capforecast {model}",
            time.perf_counter() - started,
            accuracy(table, "mean", train, test),
        )
    frame = train[["unique_id", "ds", "y"]]
    first = frame[frame["unique_id"] == frame["unique_id"].iloc[0]]
    cold = 0.0
    for model in (AutoETS(season_length=7), AutoARIMA(season_length=7)):
        started = time.perf_counter()
        StatsForecast(models=[model], freq="D", n_jobs=-1).forecast(df=first, h=HORIZON)
        cold += time.perf_counter() - started
        engine = StatsForecast(models=[model], freq="D", n_jobs=-1)
        started = time.perf_counter()
        table = engine.forecast(df=frame, h=HORIZON, level=[80, 95]).reset_index()
        seconds = time.perf_counter() - started
        row(f"statsforecast {model}", seconds, accuracy(table, str(model), train, test))
    anchor = next(float(r["seconds"]) for r in rows if r["model"] == "statsforecast AutoETS")  # type: ignore[arg-type]
    for found in rows:
        found["seconds / statsforecast AutoETS"] = round(float(found["seconds"]) / anchor, 2)  # type: ignore[arg-type]
    return rows, cold


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=2000)
    args = parser.parse_args()
    history = panel(args.series)
    train, test = split(history)
    compared, cold = against_statsforecast(train, test)
    print(markdown_table(compared))
    rows: list[dict[str, object]] = []
    tables: dict[str, pd.DataFrame] = {}

    def run(name: str, **how: object) -> None:
        started = time.perf_counter()
        tables[name] = forecast(train, HORIZON, **how)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        rows.append(
            {
                "run": name,
                "seconds": round(seconds, 1),
                "ms per series": round(1000 * seconds / args.series, 1),
                "speed-up": round(float(rows[0]["seconds"]) / seconds, 2) if rows else 1.0,  # type: ignore[arg-type]
            }
        )

    run("1 process", n_jobs=1)
    run("2 local processes (joblib)", n_jobs=2)
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        run("Dask LocalCluster, 2 workers", client=client)
    first = tables["1 process"]
    identical = all(first.equals(other) for other in tables.values())
    table = markdown_table(rows)
    memory = (
        f"Peak memory: {peak_mb(resource.RUSAGE_SELF):.0f} MB in the calling process, "
        f"{peak_mb(resource.RUSAGE_CHILDREN):.0f} MB in the largest local worker process; "
        f"history {history.memory_usage(deep=True).sum() / 1e6:.0f} MB in memory, forecast "
        f"table {first.memory_usage(deep=True).sum() / 1e6:.1f} MB."
    )
    print(table)
    print(memory)
    print(f"Tables identical across the three runs: {identical}")
    write_section(
        "scale",
        "\n".join(
            [
                "## Scale (`benchmarks/scale.py`)",
                "",
                f"Latest run: {time.strftime('%Y-%m-%d')}, {args.series} seeded daily series of "
                f"{DAYS} days, the last {HORIZON} the test set, {os.cpu_count()} cores.",
                "",
                "### Against statsforecast",
                "",
                "Season 7, 80/95 intervals, every core, in one run; MASE is the mean over the "
                "series, scaled by the in-sample naive error; coverage is the share of the "
                "test days inside the interval. statsforecast "
                f"{_version('statsforecast')}, warm (its first calls took {cold:.1f} s, "
                "not counted).",
                "",
                markdown_table(compared),
                "",
                "### The panel engine",
                "",
                "The default model (ETS, season 7, 80/95 intervals) forecast three ways; "
                "speed-up is against one process.",
                "",
                table,
                "",
                memory,
                f"Forecast tables identical across the three runs: **{identical}**.",
            ]
        ),
    )
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
