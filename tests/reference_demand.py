"""An independent pandas reference for demand history from a job log.

Nothing here imports ``capforecast``: it exists to cross-check the DuckDB queries. Jobs
are clean (no bad rows); times are ``datetime64[ns]``; a missing start means the job never
ran, a missing end that it was still pending or running at the window's end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUP = ["org", "team", "workload", "sku", "region"]


def reference_demand(
    jobs: pd.DataFrame, window_start: pd.Timestamp, window_end: pd.Timestamp, step: str
) -> pd.DataFrame:
    """GPU-hours in use and pending per group and bucket, and their averages."""
    step_ns = pd.Timedelta(step).value
    start = jobs["start_time"]
    running = pd.DataFrame(
        {
            **{c: jobs[c] for c in GROUP},
            "gpus": jobs["gpus"],
            "running": True,
            "t0": start,
            "t1": jobs["end_time"].fillna(window_end),
        }
    )[start.notna()]
    pending = pd.DataFrame(
        {
            **{c: jobs[c] for c in GROUP},
            "gpus": jobs["gpus"],
            "running": False,
            "t0": jobs["submit_time"],
            "t1": start.fillna(jobs["end_time"]).fillna(window_end),
        }
    )
    spans = pd.concat([running, pending], ignore_index=True)
    spans["t0"] = spans["t0"].clip(lower=window_start)
    spans["t1"] = spans["t1"].clip(upper=window_end)
    spans = spans[(spans["t1"] > spans["t0"]) & (spans["gpus"] > 0)].reset_index(drop=True)
    t0 = spans["t0"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    t1 = spans["t1"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    origin = window_start.floor(step).value
    first = (t0 - origin) // step_ns
    last = (t1 - 1 - origin) // step_ns
    counts = last - first + 1
    owner = np.repeat(np.arange(len(spans)), counts)
    bucket = np.repeat(first, counts) + (
        np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    lo = origin + bucket * step_ns
    overlap = np.minimum(t1[owner], lo + step_ns) - np.maximum(t0[owner], lo)
    pieces = spans.iloc[owner][[*GROUP, "running"]].reset_index(drop=True)
    pieces["ds"] = pd.to_datetime(lo)
    pieces["hours"] = spans["gpus"].to_numpy()[owner] * overlap / 3.6e12
    hours = pieces.pivot_table(
        index=[*GROUP, "ds"], columns="running", values="hours", aggfunc="sum", fill_value=0.0
    ).reindex(columns=[True, False], fill_value=0.0)
    hours.columns = ["gpu_hours", "pending_gpu_hours"]
    groups = hours.index.droplevel("ds").unique()
    buckets = pd.date_range(window_start.floor(step), window_end, freq=step, inclusive="left")
    grid = pd.MultiIndex.from_tuples(
        [(*g, ds) for g in groups for ds in buckets], names=[*GROUP, "ds"]
    )
    table = hours.reindex(grid, fill_value=0.0).reset_index()
    covered = (
        (table["ds"] + pd.Timedelta(step)).clip(upper=window_end)
        - table["ds"].clip(lower=window_start)
    ) / pd.Timedelta(hours=1)
    table["in_use"] = table["gpu_hours"] / covered
    table["pending"] = table["pending_gpu_hours"] / covered
    table["demand"] = table["in_use"] + table["pending"]
    return table.sort_values([*GROUP, "ds"]).reset_index(drop=True)
