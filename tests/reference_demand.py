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
    """GPU-hours in use, pending and asked for (each job's run from its submission) per
    group and bucket, and their averages."""
    step_ns = pd.Timedelta(step).value
    start = jobs["start_time"]
    started = start.notna()

    def span(kind: str, t0: pd.Series, t1: pd.Series) -> pd.DataFrame:
        return pd.DataFrame(
            {**{c: jobs[c] for c in GROUP}, "gpus": jobs["gpus"], "kind": kind, "t0": t0,
             "t1": t1}
        )  # fmt: skip

    # How long each started job ran, as far as the log tells (to the window's end if it
    # has no end); a job that never ran asks for its time_limit (seconds) when it has
    # one, else the median run of the finished jobs of its workload and SKU, else of all
    # finished jobs.
    ran = jobs["end_time"].fillna(start.clip(lower=window_end)) - start
    finished = started & jobs["end_time"].notna()
    typical = ran[finished].groupby([jobs["workload"], jobs["sku"]]).median()
    keys = pd.MultiIndex.from_frame(jobs[["workload", "sku"]])
    guess = pd.Series(typical.reindex(keys).to_numpy(), index=jobs.index)
    guess = guess.fillna(ran[finished].median()).fillna(pd.Timedelta(0))
    if "time_limit" in jobs:  # the run time it asked for comes first
        guess = pd.to_timedelta(jobs["time_limit"], unit="s").fillna(guess)
    asked = ran.where(started, guess)
    spans = pd.concat(
        [
            span("in_use", start, jobs["end_time"].fillna(window_end))[started],
            span("pending", jobs["submit_time"], start.fillna(jobs["end_time"]).fillna(window_end)),
            span("demand", jobs["submit_time"], jobs["submit_time"] + asked),
        ],
        ignore_index=True,
    )
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
    pieces = spans.iloc[owner][[*GROUP, "kind"]].reset_index(drop=True)
    pieces["ds"] = pd.to_datetime(lo)
    pieces["hours"] = spans["gpus"].to_numpy()[owner] * overlap / 3.6e12
    kinds = ["in_use", "pending", "demand"]
    hours = pieces.pivot_table(
        index=[*GROUP, "ds"], columns="kind", values="hours", aggfunc="sum", fill_value=0.0
    ).reindex(columns=kinds, fill_value=0.0)
    hours.columns = ["gpu_hours", "pending_gpu_hours", "demand_gpu_hours"]
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
    table["in_use_plus_pending"] = table["in_use"] + table["pending"]
    table["demand"] = table["demand_gpu_hours"] / covered
    return table.sort_values([*GROUP, "ds"]).reset_index(drop=True)
