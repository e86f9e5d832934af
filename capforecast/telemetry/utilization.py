"""Utilization insights: how much of the fleet is allocated, how busy the allocated part
is, who waits, when demand peaks, and where GPUs are stranded.

Every table is computed from the same clean rows as the demand history (bad rows are left
out as the config says), over the same window:

=================  ==========================================================================
``allocation``     per SKU and site: GPUs in service, allocated, pending; allocation rate;
                   busy utilization of the allocated GPUs and of all GPUs
``daily``          the same per day (``allocation`` is its window average)
``teams``          per group (org, team, workload, SKU, region): GPUs held, busy utilization,
                   idle-but-allocated GPU-hours, GPUs pending
``queue``          queue-wait percentiles (hours) per workload and SKU
``profiles``       demand by hour of day and day of week, relative to its mean, per workload
``peaks``          mean, 95th percentile and peak hourly demand per workload and SKU
``fragmentation``  fractional GPU requests: GPUs held alone vs packed, per SKU
``stranded``       GPUs free on partly used nodes (whole-node jobs cannot use them)
``changes``        the largest step in each series' daily demand (7 days against 7 days)
=================  ==========================================================================

Busy utilization needs utilization samples per node and jobs that name their node; the
node's mean utilization in an hour is shared among the jobs on it (unallocated GPUs are
taken to be idle). Without them those columns are empty, and the rest still stands.

Nothing is built per job, node and hour: each job is a row per node it ran on
(``job_nodes``), the GPUs held per node and hour come from those spans' starts and ends
(``node_load``), and a job's busy GPU-hours from a running sum of its node's busy fraction
(``node_busy``, ``team_use``), so 10 million jobs and 100 million samples fit the default
memory limit (docs/telemetry.md, "At fleet scale").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capforecast.core.limits import LIMITS, check
from capforecast.core.schemas import HISTORY_ATTRIBUTES
from capforecast.telemetry.config import TelemetryConfig
from capforecast.telemetry.demand import Demand, demand
from capforecast.telemetry.store import TelemetryStore

GROUP = list(HISTORY_ATTRIBUTES)
TABLES = ["allocation", "daily", "teams", "queue", "profiles", "peaks", "fragmentation"]
TABLES += ["stranded", "changes", "problems"]
ALL = "(all)"
UNKNOWN_NODE = "(unknown node)"  # the site of GPUs on a node the inventory does not list
#: Days on each side of a step in ``changes``, and the relative size that flags it.
CHANGE_DAYS, CHANGE_FLAG = 7, 0.3


@dataclass(frozen=True)
class Utilization:
    """The utilization tables of one window (see the module docstring)."""

    demand: Demand  # hourly
    allocation: pd.DataFrame
    daily: pd.DataFrame
    teams: pd.DataFrame
    queue: pd.DataFrame
    profiles: pd.DataFrame
    peaks: pd.DataFrame
    fragmentation: pd.DataFrame
    stranded: pd.DataFrame
    changes: pd.DataFrame
    problems: pd.DataFrame  # inventory and utilization rows left out: source, file, row, ...

    @property
    def hours(self) -> float:
        """The window's length in hours."""
        return self.demand.hours

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, as ``capforecast utilization`` writes them."""
        return {name: getattr(self, name) for name in TABLES}


def utilization(config: TelemetryConfig, *, store: TelemetryStore | None = None) -> Utilization:
    """The utilization tables of the configured telemetry (a job log is required;
    inventory and utilization samples add the allocation and busy columns)."""
    store = TelemetryStore(config) if store is None else store
    hourly = demand(config.model_copy(update={"grain": "hour"}), store=store)
    start, end = hourly.window
    window = {"window_start": start, "window_end": end}
    store.materialize("job_nodes", **window)
    size = int(store.sql("node_hours").iloc[0, 0])
    check("node-hours in use in the window", size, LIMITS.node_hours)
    problems = _source_problems(store, window)
    store.materialize("node_load")
    placed = store.con.execute("SELECT COUNT(*) FROM job_nodes WHERE node <> ''").fetchone()
    by_site = bool(placed and placed[0])
    store.materialize("node_busy")
    daily = _daily(store.sql("allocation", by_site=by_site, **window), hourly)
    hours = hourly.hours
    return Utilization(
        demand=hourly,
        allocation=_allocation(daily, hourly, hours),
        daily=daily,
        teams=_teams(store.sql("team_use"), hourly, hours),
        queue=store.sql("queue_wait", **window),
        profiles=_profiles(hourly.table),
        peaks=_peaks(hourly.table),
        fragmentation=_fragmentation(store.sql("fractional"), hours),
        stranded=_stranded(store.sql("partial_nodes", **window) if by_site else None, hours),
        changes=_changes(hourly.table),
        problems=problems,
    )


def _source_problems(store: TelemetryStore, window: dict[str, pd.Timestamp]) -> pd.DataFrame:
    """Check inventory and utilization rows, create their ``_clean`` views and the hourly
    node utilization in the window; every bad row is excluded and listed."""
    con, found = store.con, []
    if store.has("inventory"):
        found.append(store.sql("inventory_problems").assign(source="inventory"))
        store.exclude("inventory", found[-1].assign(excluded=True))
    else:
        con.execute(
            "CREATE OR REPLACE TABLE inventory_clean (node VARCHAR, sku VARCHAR, gpus DOUBLE, "
            "site VARCHAR, region VARCHAR, in_service_from TIMESTAMP, retired_at TIMESTAMP)"
        )
    if store.has("utilization"):
        scale = 100.0 if store.config.utilization_scale == "percent" else 1.0
        found.append(
            store.sql(
                "utilization_problems", scale=scale, check_nodes=store.has("inventory")
            ).assign(source="utilization")
        )
        store.exclude("utilization", found[-1].assign(excluded=True))
        store.materialize("node_util", scale=scale, **window)
    else:
        con.execute(
            "CREATE OR REPLACE TABLE node_util "
            "(node VARCHAR, hour TIMESTAMP, util DOUBLE, covered DOUBLE)"
        )
    columns = ["source", "file", "row", "column", "reason", "value"]
    if not found:
        return pd.DataFrame(columns=columns)
    return pd.concat(found, ignore_index=True)[columns]


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is 0."""
    return numerator / denominator.where(denominator > 0)


def _daily(table: pd.DataFrame, hourly: Demand) -> pd.DataFrame:
    """Per day, SKU and site: GPU-hours as averages over the part of the day in the window,
    the allocation rate and busy utilizations; per SKU totals over sites (site ``(all)``)
    and a fleet total (SKU and site ``(all)``)."""
    start, end = hourly.window
    sums = [c for c in table.columns if c.endswith("_gpu_hours")]
    parts = [table]
    if (table["site"] != ALL).any():
        parts.append(table.groupby(["ds", "sku"], as_index=False)[sums].sum().assign(site=ALL))
    if table["sku"].nunique() > 1:
        parts.append(table.groupby("ds", as_index=False)[sums].sum().assign(sku=ALL, site=ALL))
    table = pd.concat(parts, ignore_index=True)
    day_end = (table["ds"] + pd.Timedelta(days=1)).clip(upper=end)
    covered = (day_end - table["ds"].clip(lower=start)) / pd.Timedelta(hours=1)
    daily = table[["ds", "sku", "site"]].copy()
    daily["inventory"] = table["inventory_gpu_hours"] / covered
    daily["allocated"] = table["allocated_gpu_hours"] / covered
    daily["allocation_rate"] = _ratio(table["allocated_gpu_hours"], table["inventory_gpu_hours"])
    daily["busy_utilization"] = _ratio(table["busy_gpu_hours"], table["measured_gpu_hours"])
    daily["fleet_utilization"] = _ratio(table["fleet_busy_gpu_hours"], table["sampled_gpu_hours"])
    daily = pd.concat([daily, table[sums]], axis=1)
    return daily.sort_values(["sku", "site", "ds"], kind="stable").reset_index(drop=True)


def _allocation(daily: pd.DataFrame, hourly: Demand, hours: float) -> pd.DataFrame:
    """Window averages of ``daily`` per SKU and site, with the 95th percentile of the daily
    allocation and, per SKU (site ``(all)``), the GPUs pending."""
    sums = [c for c in daily.columns if c.endswith("_gpu_hours")]
    grouped = daily.groupby(["sku", "site"], sort=True)
    table = grouped[sums].sum().reset_index()
    table["inventory"] = table["inventory_gpu_hours"] / hours
    table["allocated"] = table["allocated_gpu_hours"] / hours
    table["allocated_p95_day"] = grouped["allocated"].quantile(0.95).to_numpy()
    table["allocation_rate"] = _ratio(table["allocated_gpu_hours"], table["inventory_gpu_hours"])
    table["busy_utilization"] = _ratio(table["busy_gpu_hours"], table["measured_gpu_hours"])
    table["fleet_utilization"] = _ratio(table["fleet_busy_gpu_hours"], table["sampled_gpu_hours"])
    pending = hourly.table.groupby("sku")["pending_gpu_hours"].sum() / hours
    pending[ALL] = pending.sum()
    table["pending"] = np.where(table["site"] == ALL, table["sku"].map(pending), np.nan)
    first = ["sku", "site", "inventory", "allocated", "allocated_p95_day", "pending"]
    rates = ["allocation_rate", "busy_utilization", "fleet_utilization"]
    return table[first + rates + sums]


def _teams(use: pd.DataFrame, hourly: Demand, hours: float) -> pd.DataFrame:
    """Per group: GPUs held and pending (window averages), busy utilization of the held
    GPUs, and idle-but-allocated GPU-hours (measured ones only)."""
    queued = hourly.table.groupby(GROUP, as_index=False)[["gpu_hours", "pending_gpu_hours"]].sum()
    table = queued.merge(use, on=GROUP, how="left").fillna(
        {"allocated_gpu_hours": 0.0, "measured_gpu_hours": 0.0, "busy_gpu_hours": 0.0}
    )
    table["held"] = table["gpu_hours"] / hours
    table["pending"] = table["pending_gpu_hours"] / hours
    table["busy_utilization"] = _ratio(table["busy_gpu_hours"], table["measured_gpu_hours"])
    table["measured_share"] = _ratio(table["measured_gpu_hours"], table["gpu_hours"])
    table["idle_gpu_hours"] = table["measured_gpu_hours"] - table["busy_gpu_hours"]
    columns = [*GROUP, "held", "pending", "busy_utilization", "measured_share"]
    columns += ["gpu_hours", "pending_gpu_hours", "measured_gpu_hours", "busy_gpu_hours"]
    return (
        table[[*columns, "idle_gpu_hours"]]
        .sort_values("idle_gpu_hours", ascending=False, kind="stable")
        .reset_index(drop=True)
    )


def _by_workload(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Hourly demand and use summed per ``keys`` and ``ds``, with ``(all)`` totals."""
    columns = ["demand", "in_use"]
    parts = [table.groupby([*keys, "ds"], as_index=False)[columns].sum()]
    for level in range(len(keys)):
        kept = keys[:level]
        total = table.groupby([*kept, "ds"], as_index=False)[columns].sum()
        parts.append(total.assign(**{k: ALL for k in keys[level:]}))
    return pd.concat(parts, ignore_index=True)


def _profiles(table: pd.DataFrame) -> pd.DataFrame:
    """Mean demand per workload by hour of day (0-23) and day of week (0 = Monday), and
    relative to the workload's mean."""
    totals = _by_workload(table, ["workload"])
    records = []
    for workload, rows in totals.groupby("workload", sort=True):
        mean = rows["demand"].mean()
        for profile, slot in (
            ("hour_of_day", rows["ds"].dt.hour),
            ("day_of_week", rows["ds"].dt.dayofweek),
        ):
            means = rows.groupby(slot)["demand"].mean()
            for key, value in means.items():
                records.append(
                    (workload, profile, int(key), value, value / mean if mean > 0 else np.nan)
                )
    return pd.DataFrame.from_records(
        records, columns=["workload", "profile", "slot", "demand", "relative"]
    )


def _peaks(table: pd.DataFrame) -> pd.DataFrame:
    """Per workload and SKU: mean, 95th percentile and peak of hourly demand, when the
    peak was, its ratio to the mean, and the mean in use."""
    totals = _by_workload(table, ["workload", "sku"])
    grouped = totals.groupby(["workload", "sku"], sort=True)
    peaks = grouped["demand"].agg(mean="mean", p95=lambda v: v.quantile(0.95), peak="max")
    peaks["peak_at"] = totals.loc[grouped["demand"].idxmax(), "ds"].to_numpy()
    peaks["peak_to_average"] = _ratio(peaks["peak"], peaks["mean"])
    peaks["mean_in_use"] = grouped["in_use"].mean()
    return peaks.reset_index()


def _fragmentation(fractional: pd.DataFrame, hours: float) -> pd.DataFrame:
    """Per SKU, window averages: GPUs of fractional requests, GPUs they hold each alone,
    GPUs they need packed, and the GPUs stranded either way."""
    columns = ["fractional_gpus", "packed_gpus", "unshared_gpus"]
    table = fractional.groupby("sku", sort=True)[columns].sum() / hours
    table["stranded_if_unshared"] = table["unshared_gpus"] - table["fractional_gpus"]
    table["stranded_if_packed"] = table["packed_gpus"] - table["fractional_gpus"]
    return table.reset_index()


def _stranded(partial: pd.DataFrame | None, hours: float) -> pd.DataFrame:
    """Per SKU and site, window averages of the GPUs free on partly used nodes and of the
    number of such nodes (empty when jobs name no node)."""
    columns = ["sku", "site", "stranded_gpus", "partial_nodes"]
    if partial is None or partial.empty:
        return pd.DataFrame(columns=columns)
    table = partial.groupby(["sku", "site"], sort=True)[columns[2:]].sum() / hours
    return table.reset_index()


def _changes(table: pd.DataFrame) -> pd.DataFrame:
    """The largest step in each series' daily demand: the mean of the 7 days from ``ds``
    against the 7 days before; ``flagged`` when it moved by 30% or more."""
    columns = [*GROUP, "ds", "before", "after", "change", "relative", "flagged"]
    daily = table.assign(day=table["ds"].dt.floor("D"))
    daily = daily.groupby([*GROUP, "day"], sort=True).agg(
        demand=("demand", "mean"), hours=("ds", "size")
    )
    daily = daily[daily["hours"] == 24].reset_index()
    records = []
    for key, rows in daily.groupby(GROUP, sort=True):
        values = rows["demand"].to_numpy()
        if len(values) < 2 * CHANGE_DAYS:
            continue
        window = np.lib.stride_tricks.sliding_window_view(values, CHANGE_DAYS).mean(axis=1)
        before, after = window[:-CHANGE_DAYS], window[CHANGE_DAYS:]
        step = int(np.argmax(np.abs(after - before)))
        change = after[step] - before[step]
        relative = change / before[step] if before[step] > 0 else np.inf if change > 0 else 0.0
        day = rows["day"].iloc[step + CHANGE_DAYS]
        records.append(
            (*key, day, before[step], after[step], change, relative, abs(relative) >= CHANGE_FLAG)
        )
    return pd.DataFrame.from_records(records, columns=columns)
