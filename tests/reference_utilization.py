"""An independent pandas reference for the busy-utilization aggregates of a cluster.

Nothing here imports ``capforecast``: it cross-checks the DuckDB queries of
``capforecast utilization`` the plain way, hour by hour for every job on every node (the
job x node x hour rows the queries avoid). Jobs, inventory and utilization samples are
clean; times are ``datetime64[ns]``; a missing start means the job never ran, a missing
end that it ran past the window. Utilization is a fraction (0..1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUP = ["org", "team", "workload", "sku", "region"]
HOUR = 3_600_000_000_000  # nanoseconds


def job_node_hours(jobs: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """GPU-hours of every job on every node it names (an equal share on each) in every
    hour of the window: the group, ``node``, ``hour``, ``gpu_hours``, and the GPU-hours of
    a fractional request's fraction and of its own GPU (``fractional_gpu_hours``,
    ``unshared_gpu_hours``)."""
    t0 = jobs["start_time"].clip(lower=start)
    t1 = jobs["end_time"].fillna(end).clip(upper=end)
    kept = jobs["start_time"].notna() & (t1 > t0) & (jobs["gpus"] > 0)
    spans = jobs.loc[kept, [*GROUP, "gpus", "node"]].assign(t0=t0[kept], t1=t1[kept])
    spans["node"] = spans["node"].fillna("").str.split(",")
    spans["share"] = 1.0 / spans["node"].str.len()
    spans = spans.explode("node", ignore_index=True)
    spans["node"] = spans["node"].str.strip()
    a = spans["t0"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    b = spans["t1"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    first = a // HOUR
    counts = (b - 1) // HOUR - first + 1
    index = np.repeat(np.arange(len(spans)), counts)
    hour = (
        np.repeat(first, counts)
        + np.arange(counts.sum())
        - np.repeat(np.cumsum(counts) - counts, counts)
    ) * HOUR
    held = (np.minimum(b[index], hour + HOUR) - np.maximum(a[index], hour)) / HOUR
    gpus = spans["gpus"].to_numpy()[index]
    share = spans["share"].to_numpy()[index]
    fraction = gpus - np.floor(gpus)
    table = spans.loc[index, [*GROUP, "node"]].reset_index(drop=True)
    table["hour"] = pd.to_datetime(hour)
    table["gpu_hours"] = gpus * share * held
    table["fractional_gpu_hours"] = fraction * share * held
    table["unshared_gpu_hours"] = np.where(fraction > 0, share * held, 0.0)
    return table


def busy_fractions(
    hours: pd.DataFrame,
    inventory: pd.DataFrame,
    samples: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """Per node and hour with GPUs allocated and utilization samples: how busy the
    allocated GPUs were (the node's mean utilization x its GPU-hours over the allocated
    GPU-hours, at most 1)."""
    inside = samples[(samples["time"] >= start) & (samples["time"] < end)]
    util = inside.groupby(["node", inside["time"].dt.floor("h").rename("hour")])["gpu_util"].mean()
    util = util.rename("util").reset_index()
    hour_end = (util["hour"] + pd.Timedelta(hours=1)).clip(upper=end)
    util["covered"] = (hour_end - util["hour"].clip(lower=start)) / pd.Timedelta(hours=1)
    load = hours[hours["node"] != ""].groupby(["node", "hour"], as_index=False)["gpu_hours"].sum()
    table = load.merge(util, on=["node", "hour"]).merge(inventory[["node", "gpus"]], on="node")
    table["busy_fraction"] = np.minimum(
        1.0, table["util"] * table["gpus"] * table["covered"] / table["gpu_hours"]
    )
    return table[["node", "hour", "busy_fraction"]]


def reference_use(
    jobs: pd.DataFrame,
    inventory: pd.DataFrame,
    samples: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> dict[str, pd.DataFrame]:
    """``teams``: per group, GPU-hours allocated, measured (on node-hours with samples)
    and busy; ``daily``: the same per day, SKU and site (the job's SKU, the node's site,
    ``(unknown node)`` for a node the inventory lacks or none); ``fractional``: per SKU,
    fractional, packed and unshared GPU-hours summed over hours; ``stranded``: per SKU and
    site of the inventory, GPU-hours free on nodes while partly allocated."""
    hours = job_node_hours(jobs, start, end)
    busy = busy_fractions(hours, inventory, samples, start, end)
    table = hours.merge(busy, on=["node", "hour"], how="left")
    measured = table["busy_fraction"].notna()
    table["measured_gpu_hours"] = table["gpu_hours"].where(measured, 0.0)
    table["busy_gpu_hours"] = (table["gpu_hours"] * table["busy_fraction"]).fillna(0.0)
    sums = {"allocated_gpu_hours": "gpu_hours", "measured_gpu_hours": "measured_gpu_hours",
            "busy_gpu_hours": "busy_gpu_hours"}  # fmt: skip
    teams = table.groupby(GROUP, as_index=False).agg(**{k: (v, "sum") for k, v in sums.items()})
    sites = inventory.set_index("node")["site"]
    table["site"] = table["node"].map(sites).fillna("(unknown node)")
    table["ds"] = table["hour"].dt.floor("D")
    daily = table.groupby(["ds", "sku", "site"], as_index=False).agg(
        **{k: (v, "sum") for k, v in sums.items()}
    )
    per_hour = table.groupby(["sku", "hour"])[["fractional_gpu_hours", "unshared_gpu_hours"]].sum()
    per_hour = per_hour[per_hour["unshared_gpu_hours"] > 1e-9]
    packed = np.minimum(
        np.ceil(per_hour["fractional_gpu_hours"] - 1e-9), per_hour["unshared_gpu_hours"]
    )
    fractional = per_hour.assign(packed_gpu_hours=packed).groupby("sku").sum().reset_index()
    load = table[table["node"] != ""].groupby(["node", "hour"], as_index=False)["gpu_hours"].sum()
    load = load.merge(inventory, on="node")
    hour_end = (load["hour"] + pd.Timedelta(hours=1)).clip(upper=end)
    covered = (hour_end - load["hour"].clip(lower=start)) / pd.Timedelta(hours=1)
    free = load["gpus"] * covered - load["gpu_hours"]
    load["stranded_gpu_hours"] = free.where(free > 1e-9, 0.0)
    stranded = load.groupby(["sku", "site"], as_index=False)["stranded_gpu_hours"].sum()
    return {"teams": teams, "daily": daily, "fractional": fractional, "stranded": stranded}
