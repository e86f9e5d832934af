"""Scale: 2,000 daily series of two years, fitted and forecast with the default model.

Run ``python benchmarks/scale.py`` (``--series N`` for a quick look). The panel is
generated from a fixed seed (trend, weekly season, launch steps, noise; never negative).
It is forecast 28 days ahead with ``forecast()``'s defaults (ETS, season 7, 80/95
intervals) three ways: in this process, on 2 local processes (joblib), and on a Dask
``LocalCluster`` of 2 single-threaded workers. It reports wall clock, the speed-up over
one process, the peak memory (resident set size) of the parent and of the largest
worker, and checks that the three tables are identical. The result replaces the
``scale`` section of ``docs/benchmarks.md``.
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


def peak_mb(who: int) -> float:
    """Peak resident memory in MB of this process or of its largest child (Linux: KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=2000)
    args = parser.parse_args()
    history = panel(args.series)
    rows: list[dict[str, object]] = []
    tables: dict[str, pd.DataFrame] = {}

    def run(name: str, **how: object) -> None:
        started = time.perf_counter()
        tables[name] = forecast(history, HORIZON, **how)  # type: ignore[arg-type]
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
                f"{DAYS} days, horizon {HORIZON}, default model (ETS, season 7, 80/95 "
                f"intervals), {os.cpu_count()} cores. Speed-up is against one process.",
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
