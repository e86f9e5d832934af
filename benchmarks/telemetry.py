"""Telemetry scale: job rows in Parquet files to daily demand history, and job rows with
utilization samples to the utilization insights, DuckDB vs pandas.

Run ``python benchmarks/telemetry.py`` (10 million rows in 20 files, and the same
aggregation in pandas in the same run) or ``--rows 100000000 --files 200 --no-pandas``
(measured once, reported). ``--utilization`` runs ``capforecast utilization`` on 10 million
job rows placed on nodes and 100 million utilization samples (``--samples``), and on a
tenth of both, where the same busy-use aggregation in pandas (``tests/reference_utilization.py``,
hour by hour for every job on every node) runs too. Files are generated from a seed into a
temporary folder and deleted afterwards. Each measurement runs in a fresh process, so its
peak memory (maximum resident set, DuckDB's and Python's) is its own. The result replaces
its section of ``docs/benchmarks.md``.
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
SKUS, REGIONS = ["H100", "A100", "L4"], ["us", "eu"]
SAMPLE_EVERY = 900  # seconds between a node's utilization samples
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
UTILIZATION_SETUP = (
    "The same job log, each job on one 8-GPU node of its SKU and region (the nodes in an "
    "inventory, at two sites), and every node's GPU utilization sampled every 15 minutes "
    "over the quarter, in Parquet files. DuckDB: the whole of `capforecast utilization` "
    "(hourly demand, allocation, busy use per team, queue waits, profiles, peaks, "
    "fragmentation, stranded GPUs), never building a row per job, node and hour; with "
    "DuckDB's default memory_limit of 3 GB, and again at 2 GB so that the whole process "
    "(Python and pandas too) stays within 3 GB. pandas: only the busy-use aggregation (GPU-hours "
    "allocated, measured and busy per team and per day, SKU and site; fractional GPUs), "
    "hour by hour for every job on every node (`tests/reference_utilization.py`), on a "
    "tenth of the jobs and nodes, where DuckDB runs too and the totals are compared. Each "
    "in a fresh process; peak MB is its maximum resident memory."
)


def write_jobs(folder: Path, rows: int, files: int, seed: int, nodes: int = 0) -> None:
    """``rows`` jobs over a quarter in ``files`` Parquet files: 40 teams in 4 orgs, 3
    SKUs, 2 regions; waits and run times exponential; 5% never start (most are cancelled
    within hours, 1 in 50 is still queued at the end), 2% still running at the end. With
    ``nodes``, each job names one of them of its SKU and region (see ``node_names``)."""
    rng = np.random.default_rng(seed)
    origin = pd.Timestamp(START).value
    span = pd.Timestamp(END).value - origin
    for number, count in enumerate(np.diff(np.linspace(0, rows, files + 1).astype(np.int64))):
        submit = origin + rng.integers(0, span, count)
        wait = (rng.exponential(1_800, count) * 1e9).astype(np.int64)
        run = (rng.exponential(6 * 3_600, count) * 1e9).astype(np.int64)
        team = rng.integers(0, TEAMS, count)
        sku = rng.integers(0, len(SKUS), count)
        region = (rng.random(count) < 0.5).astype(np.int64)
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
                "sku": pa.array(np.array(SKUS)[sku]).dictionary_encode(),
                "region": pa.array(np.array(REGIONS)[region]).dictionary_encode(),
                "gpus": rng.choice([0.5, 1.0, 2.0, 4.0, 8.0], count),
                "submit_time": pa.array(submit, type=pa.timestamp("ns")),
                "start_time": start,
                "end_time": end,
            }
        )
        if nodes:
            kinds = len(SKUS) * len(REGIONS)  # node i has SKU i % 3 and region i // 3 % 2
            slot = rng.integers(0, nodes // kinds, count) * kinds + sku + len(SKUS) * region
            table = table.append_column("node", node_names(slot))
        pq.write_table(table, folder / f"jobs-{number:03d}.parquet")


def node_names(index: np.ndarray) -> pa.Array:
    """The names of the nodes numbered ``index``, dictionary-encoded."""
    names, codes = np.unique(index, return_inverse=True)
    dictionary = pa.array(np.char.add("node", names.astype(str)))
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), dictionary)


def write_cluster(folder: Path, nodes: int, files: int, seed: int) -> int:
    """An inventory of ``nodes`` 8-GPU nodes (node i: SKU i % 3, region i // 3 % 2, site
    ``<region>-a`` or ``-b``) and each node's GPU utilization (percent) every 15 minutes
    of the quarter in ``files`` Parquet files; the number of samples."""
    rng = np.random.default_rng(seed)
    index = np.arange(nodes)
    region = np.array(REGIONS)[index // len(SKUS) % len(REGIONS)]
    pd.DataFrame(
        {
            "node": np.char.add("node", index.astype(str)),
            "sku": np.array(SKUS)[index % len(SKUS)],
            "gpus": 8,
            "site": np.char.add(region, np.where(index % 12 < 6, "-a", "-b")),
            "region": region,
        }
    ).to_parquet(folder / "inventory.parquet")
    times = np.arange(pd.Timestamp(START).value, pd.Timestamp(END).value, SAMPLE_EVERY * 10**9)
    level = rng.uniform(20, 90, nodes)  # each node's typical utilization
    for part in np.array_split(index, files):
        node = np.repeat(part, len(times))
        util = np.clip(level[node] + rng.normal(0, 10, len(node)), 0, 100).round(1)
        table = pa.table(
            {
                "time": pa.array(np.tile(times, len(part)), type=pa.timestamp("ns")),
                "node": node_names(node),
                "sku": pa.array(np.array(SKUS)[node % len(SKUS)]).dictionary_encode(),
                "gpu_util": pa.array(util),
            }
        )
        pq.write_table(table, folder / f"util-{part[0]:06d}.parquet")
    return nodes * len(times)


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


def measure_utilization(folder: Path, engine: str) -> dict[str, object]:
    """The utilization insights (DuckDB) or the busy-use aggregation (pandas) in this
    process: seconds, peak memory and the GPU-hours allocated, measured and busy."""
    started = time.perf_counter()
    window = pd.Timestamp(START), pd.Timestamp(END)
    if engine.startswith("utilization-duckdb"):
        from capforecast.telemetry.config import Source, TelemetryConfig
        from capforecast.telemetry.utilization import utilization

        config = TelemetryConfig(
            jobs=Source(paths=[str(folder / "jobs-*.parquet")]),
            inventory=Source(paths=[str(folder / "inventory.parquet")]),
            utilization=Source(paths=[str(folder / "util-*.parquet")]),
            start=window[0],
            end=window[1],
            # "utilization-duckdb-2GB": DuckDB's limit below 3 GB, for the whole process
            memory_limit=engine.partition("utilization-duckdb-")[2] or "3GB",
        )
        teams = utilization(config).teams.rename(columns={"gpu_hours": "allocated_gpu_hours"})
    else:
        from tests.reference_utilization import reference_use

        jobs = pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("jobs-*.parquet"))])
        for column in ("org", "team", "workload", "sku", "region", "node"):
            jobs[column] = jobs[column].astype(str)
        samples = pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("util-*.parquet"))])
        samples["node"] = samples["node"].astype(str)
        samples["gpu_util"] = samples["gpu_util"] / 100
        inventory = pd.read_parquet(folder / "inventory.parquet")
        teams = reference_use(jobs.reset_index(drop=True), inventory, samples, *window)["teams"]
    sums = teams[["allocated_gpu_hours", "measured_gpu_hours", "busy_gpu_hours"]].sum()
    return {
        "engine": engine,
        "seconds": time.perf_counter() - started,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **{name: float(value) for name, value in sums.items()},
    }


def _run(folder: Path, engine: str) -> dict[str, object]:
    found = subprocess.run(
        [sys.executable, __file__, "--measure", engine, "--folder", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(found.stdout.strip().splitlines()[-1])


def _wrote(what: str, folder: Path, started: float) -> float:
    size = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20
    print(f"wrote {what} ({size:,.0f} MB) in {time.perf_counter() - started:.1f} s", flush=True)
    return size


def _number(result: dict[str, object], key: str) -> float:
    return float(result[key])  # type: ignore[arg-type]


def _agree(ours: dict[str, object], theirs: dict[str, object], keys: list[str]) -> bool:
    """Whether every total in ``keys`` agrees to 1e-9 relative."""
    return all(
        abs(_number(ours, k) - _number(theirs, k)) <= 1e-9 * _number(theirs, k) for k in keys
    )


def demand_benchmark(rows: int, files: int, pandas: bool) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        write_jobs(folder, rows, files, seed=0)
        size = _wrote(f"{rows:,} rows in {files} files", folder, started)
        ours = _run(folder, "duckdb")
        print(ours, flush=True)
        peaks = _run(folder, "duckdb-p95")
        print(peaks, flush=True)
        theirs = _run(folder, "pandas") if pandas else None
        print(theirs, flush=True)
    row = {
        "job rows": f"{rows:,}",
        "Parquet files (MB)": f"{files} ({size:,.0f})",
        "series x days": f"{ours['series']} x 91",
        "DuckDB s": round(_number(ours, "seconds"), 1),
        "DuckDB peak MB": round(_number(ours, "peak_mb")),
        "DuckDB s, inference days at p95": round(_number(peaks, "seconds"), 1),
        "its peak MB": round(_number(peaks, "peak_mb")),
        "pandas s": "not run" if theirs is None else round(_number(theirs, "seconds"), 1),
        "pandas peak MB": "not run" if theirs is None else round(_number(theirs, "peak_mb")),
        "pandas / DuckDB time": "n/a"
        if theirs is None
        else round(_number(theirs, "seconds") / _number(ours, "seconds"), 1),
        "GPU-hours agree (rel. 1e-9)": "n/a"
        if theirs is None
        else _agree(ours, theirs, ["gpu_hours", "pending_gpu_hours", "demand_gpu_hours"]),
    }
    _report(f"telemetry-{rows}", f"Telemetry scale, {rows:,} job rows", SETUP, [row])


def utilization_benchmark(rows: int, samples: int, files: int, pandas: bool) -> None:
    """``capforecast utilization`` on ``rows`` jobs and about ``samples`` samples, and on a
    tenth of both against pandas."""
    per_node = len(range(pd.Timestamp(START).value, pd.Timestamp(END).value, SAMPLE_EVERY * 10**9))
    sizes = [(rows // 10, samples // 10)] if pandas else []
    results = []
    for jobs, wanted in [*sizes, (rows, samples)]:
        nodes = max(6, wanted // per_node // 6 * 6)  # a whole number of each SKU and region
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            started = time.perf_counter()
            write_jobs(folder, jobs, files, seed=0, nodes=nodes)
            written = write_cluster(folder, nodes, files, seed=1)
            size = _wrote(f"{jobs:,} jobs on {nodes:,} nodes, {written:,} samples", folder, started)
            ours = _run(folder, "utilization-duckdb")
            print(ours, flush=True)
            theirs = _run(folder, "utilization-pandas") if jobs < rows else None
            print(theirs, flush=True)
            lower = _run(folder, "utilization-duckdb-2GB") if jobs == rows else None
            print(lower, flush=True)
        results.append(
            {
                "job rows": f"{jobs:,}",
                "nodes": f"{nodes:,}",
                "utilization samples": f"{written:,}",
                "Parquet MB": f"{size:,.0f}",
                "DuckDB s": round(_number(ours, "seconds"), 1),
                "DuckDB peak MB": round(_number(ours, "peak_mb")),
                "DuckDB s, peak MB at memory_limit 2GB": "not run"
                if lower is None
                else f"{_number(lower, 'seconds'):.1f}, {_number(lower, 'peak_mb'):.0f}",
                "pandas s": "not run" if theirs is None else round(_number(theirs, "seconds"), 1),
                "pandas peak MB": "not run"
                if theirs is None
                else round(_number(theirs, "peak_mb")),
                "pandas / DuckDB time": "n/a"
                if theirs is None
                else round(_number(theirs, "seconds") / _number(ours, "seconds"), 1),
                "busy GPU-hours agree (rel. 1e-9)": "n/a"
                if theirs is None
                else _agree(
                    ours, theirs, ["allocated_gpu_hours", "measured_gpu_hours", "busy_gpu_hours"]
                ),
            }
        )
    _report(
        "telemetry-utilization", "Utilization insights at fleet scale", UTILIZATION_SETUP, results
    )


def _report(section: str, title: str, setup: str, rows: list[dict[str, object]]) -> None:
    print(markdown_table(rows))
    write_section(
        section,
        "\n".join(
            [
                f"## {title} (`benchmarks/telemetry.py`)",
                "",
                f"Latest run: {time.strftime('%Y-%m-%d')}. {setup}",
                "",
                markdown_table(rows),
            ]
        ),
    )


MEASURES = ["duckdb", "duckdb-p95", "pandas", "utilization-duckdb", "utilization-duckdb-2GB"]
MEASURES += ["utilization-pandas"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--no-pandas", action="store_true", help="DuckDB only")
    parser.add_argument(
        "--utilization", action="store_true", help="the utilization insights, not demand"
    )
    parser.add_argument("--samples", type=int, default=100_000_000)
    parser.add_argument("--measure", choices=MEASURES, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        how = measure_utilization if args.measure.startswith("utilization") else measure
        print(json.dumps(how(args.folder, args.measure)))
    elif args.utilization:
        utilization_benchmark(args.rows, args.samples, args.files, not args.no_pandas)
    else:
        demand_benchmark(args.rows, args.files, not args.no_pandas)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
