"""Telemetry scale: job rows in Parquet files to daily demand history, DuckDB vs pandas.

Run ``python benchmarks/telemetry.py`` (10 million rows in 20 files, and the same
aggregation in pandas in the same run) or ``--rows 100000000 --files 200 --no-pandas``
(measured once, reported). Files are generated from a seed into a temporary folder and
deleted afterwards. Each measurement runs in a fresh process, so its peak memory (maximum
resident set, DuckDB's and Python's) is its own. The result replaces the ``telemetry``
section of ``docs/benchmarks.md`` (``--rows`` other than the default adds its row).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import markdown_table, write_section  # noqa: E402

START, END = "2024-01-01", "2024-04-01"  # a quarter of daily buckets
TEAMS = 40
SETUP = (
    "Seeded job log (40 teams, 3 SKUs, 2 regions; 5% never start, 2% still running at the "
    "end) over one quarter, in Parquet files; daily demand history (demand as asked for, "
    "in use, pending, GPU-hours, every series and day, each day its mean) with "
    "capforecast's DuckDB queries, and the same aggregation in pandas "
    "(`tests/reference_demand.py`), each in a fresh process. The default config also makes "
    "each day of inference (40% of the jobs) the 95th percentile of its hours: one more "
    "pass over them hour by hour, timed apart. Peak MB is that process's maximum resident "
    "memory."
)


def write_jobs(folder: Path, rows: int, files: int, seed: int) -> None:
    """``rows`` jobs over a quarter in ``files`` Parquet files: 40 teams in 4 orgs, 3
    SKUs, 2 regions; waits and run times exponential; 5% never start (most are cancelled
    within hours, 1 in 50 is still queued at the end), 2% still running at the end."""
    rng = np.random.default_rng(seed)
    origin = pd.Timestamp(START).value
    span = pd.Timestamp(END).value - origin
    for number, count in enumerate(np.diff(np.linspace(0, rows, files + 1).astype(np.int64))):
        submit = origin + rng.integers(0, span, count)
        wait = (rng.exponential(1_800, count) * 1e9).astype(np.int64)
        run = (rng.exponential(6 * 3_600, count) * 1e9).astype(np.int64)
        team = rng.integers(0, TEAMS, count)
        never = rng.random(count) < 0.05  # cancelled while queued, 1 in 50 still queued
        running = rng.random(count) < 0.02
        queued = never & (rng.random(count) < 0.02)
        cancelled = submit + (rng.exponential(2 * 3_600, count) * 1e9).astype(np.int64)
        start = pa.array(submit + wait, type=pa.timestamp("ns"), mask=never)
        end = pa.array(
            np.where(never, cancelled, submit + wait + run),
            type=pa.timestamp("ns"),
            mask=(running & ~never) | queued,
        )
        table = pa.table(
            {
                "job_id": pa.array(np.char.add(f"f{number}-", np.arange(count).astype(str))),
                "org": pa.array(np.char.add("org", (team % 4).astype(str))).dictionary_encode(),
                "team": pa.array(np.char.add("team", team.astype(str))).dictionary_encode(),
                "workload": pa.array(
                    np.where(rng.random(count) < 0.6, "training", "inference")
                ).dictionary_encode(),
                "sku": pa.array(
                    np.array(["H100", "A100", "L4"])[rng.integers(0, 3, count)]
                ).dictionary_encode(),
                "region": pa.array(
                    np.where(rng.random(count) < 0.5, "us", "eu")
                ).dictionary_encode(),
                "gpus": rng.choice([0.5, 1.0, 2.0, 4.0, 8.0], count),
                "submit_time": pa.array(submit, type=pa.timestamp("ns")),
                "start_time": start,
                "end_time": end,
            }
        )
        pq.write_table(table, folder / f"jobs-{number:03d}.parquet")


def measure(folder: Path, engine: str) -> dict[str, object]:
    """One aggregation in this process: seconds and peak memory."""
    started = time.perf_counter()
    if engine.startswith("duckdb"):
        from capforecast.telemetry import demand
        from capforecast.telemetry.config import Source, TelemetryConfig

        # "duckdb": every day its mean, as pandas computes it; "duckdb-p95": the default.
        same = {"statistic": {"default": "mean"}} if engine == "duckdb" else {}
        config = TelemetryConfig(
            jobs=Source(paths=[str(folder / "jobs-*.parquet")]),
            start=pd.Timestamp(START),
            end=pd.Timestamp(END),
            **same,  # type: ignore[arg-type]
        )
        result = demand(config)
        table, rows = result.table, result.rows
    else:
        from tests.reference_demand import reference_demand

        jobs = pd.concat(
            [pd.read_parquet(p) for p in sorted(folder.glob("jobs-*.parquet"))], ignore_index=True
        )
        for column in ("org", "team", "workload", "sku", "region"):
            jobs[column] = jobs[column].astype(str)
        rows = len(jobs)
        table = reference_demand(jobs, pd.Timestamp(START), pd.Timestamp(END), "1D")
    seconds = time.perf_counter() - started
    return {
        "engine": engine,
        "rows": rows,
        "seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "series": int(table.groupby(["org", "team", "workload", "sku", "region"]).ngroups),
        "gpu_hours": float(table["gpu_hours"].sum()),
        "pending_gpu_hours": float(table["pending_gpu_hours"].sum()),
        "demand_gpu_hours": float(table["demand_gpu_hours"].sum()),
    }


def _run(folder: Path, engine: str) -> dict[str, object]:
    found = subprocess.run(
        [sys.executable, __file__, "--measure", engine, "--folder", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(found.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--no-pandas", action="store_true", help="DuckDB only")
    parser.add_argument(
        "--measure", choices=["duckdb", "duckdb-p95", "pandas"], help=argparse.SUPPRESS
    )
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.folder, args.measure)))
        return 0
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        write_jobs(folder, args.rows, args.files, seed=0)
        size = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20
        print(
            f"wrote {args.rows:,} rows in {args.files} files ({size:,.0f} MB) "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        ours = _run(folder, "duckdb")
        print(ours, flush=True)
        peaks = _run(folder, "duckdb-p95")
        print(peaks, flush=True)
        theirs = None if args.no_pandas else _run(folder, "pandas")
        print(theirs, flush=True)
    row = {
        "job rows": f"{args.rows:,}",
        "Parquet files (MB)": f"{args.files} ({size:,.0f})",
        "series x days": f"{ours['series']} x 91",
        "DuckDB s": round(float(ours["seconds"]), 1),  # type: ignore[arg-type]
        "DuckDB peak MB": round(float(ours["peak_mb"])),  # type: ignore[arg-type]
        "DuckDB s, inference days at p95": round(float(peaks["seconds"]), 1),  # type: ignore[arg-type]
        "its peak MB": round(float(peaks["peak_mb"])),  # type: ignore[arg-type]
        "pandas s": "not run" if theirs is None else round(float(theirs["seconds"]), 1),  # type: ignore[arg-type]
        "pandas peak MB": "not run" if theirs is None else round(float(theirs["peak_mb"])),  # type: ignore[arg-type]
        "pandas / DuckDB time": "n/a"
        if theirs is None
        else round(float(theirs["seconds"]) / float(ours["seconds"]), 1),  # type: ignore[arg-type]
        "GPU-hours agree (rel. 1e-9)": "n/a"
        if theirs is None
        else all(
            abs(float(ours[c]) - float(theirs[c])) <= 1e-9 * float(theirs[c])  # type: ignore[arg-type]
            for c in ("gpu_hours", "pending_gpu_hours", "demand_gpu_hours")
        ),
    }
    print(markdown_table([row]))
    write_section(
        f"telemetry-{args.rows}",
        "\n".join(
            [
                f"## Telemetry scale, {args.rows:,} job rows (`benchmarks/telemetry.py`)",
                "",
                f"Latest run: {time.strftime('%Y-%m-%d')}. {SETUP}",
                "",
                markdown_table([row]),
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
