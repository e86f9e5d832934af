"""Demand history from job logs: what was asked for, what ran, and what queued.

What a cluster shows is censored: when it is full, jobs queue, and usage understates
demand; adding the queue to usage counts queued work twice (once waiting, once running).
So per group (org, team, workload, SKU, region) and hour or day this computes, as time
averages over the bucket:

- ``demand``: each job's GPUs from its submission for as long as it ran (its run moved back
  by its wait): the demand had nothing queued, not capped by the fleet. The default ``y``
  of the History table (``measure`` in the config).
- ``in_use``: GPUs running jobs; ``pending``: GPUs queued; ``in_use_plus_pending``: their
  sum, the backlog a scheduler sees.

Two 8-GPU, 10-hour jobs submitted together, the second waiting 10 hours, are 16 GPUs of
``demand`` for ten hours (6.67 over the day), ``in_use`` 8 for twenty hours (6.67),
``pending`` 8 for ten hours (3.33), and ``in_use_plus_pending`` 10.0 over the day.

Bad rows are counted per reason with the file and row of each (``problems``), and left out
of the aggregates as the config says; they are never dropped without a trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from capforecast.core.errors import InputError, Problem
from capforecast.core.limits import LIMITS, check, shown
from capforecast.core.schemas import HISTORY_ATTRIBUTES
from capforecast.core.statistics import quantile_of
from capforecast.telemetry.config import TelemetryConfig
from capforecast.telemetry.store import TelemetryStore

#: Seconds in each grain.
STEP_SECONDS = {"hour": 3600, "day": 86_400}


@dataclass(frozen=True)
class Demand:
    """The demand per group and bucket, and every bad job row."""

    #: org, team, workload, sku, region, ds, demand, in_use, pending, ..., and ``y`` (the
    #: config's measure, reduced by the workload's ``statistic``)
    table: pd.DataFrame
    problems: pd.DataFrame  # file, row, column, reason, value, excluded
    rows: int  # job rows read
    window: tuple[pd.Timestamp, pd.Timestamp]

    @property
    def hours(self) -> float:
        """The window's length in hours."""
        start, end = self.window
        return (end - start) / pd.Timedelta(hours=1)

    def summary(self) -> pd.DataFrame:
        """Bad rows per reason: how many, whether excluded, and up to three examples."""
        records = [
            {
                "reason": reason,
                "rows": len(rows),
                "excluded": bool(rows["excluded"].iloc[0]),
                "examples": "; ".join(
                    f"{Path(p.file).name} row {p.row}: {p.column}={shown(p.value)}"
                    for p in rows.head(3).itertuples(index=False)
                ),
            }
            for reason, rows in self.problems.groupby("reason", sort=True)
        ]
        return pd.DataFrame.from_records(
            records, columns=["reason", "rows", "excluded", "examples"]
        )

    def history(self) -> pd.DataFrame:
        """The History table of docs/data.md: ``unique_id, ds, y`` (y = the ``measure``,
        ``demand`` by default, reduced to the step by the workload's ``statistic``), the
        group's attributes and its ``statistic``; ``unique_id`` joins the non-empty
        attributes with ``/``."""
        table = self.table
        parts = table[list(HISTORY_ATTRIBUTES)].astype(str)
        unique_id = parts.apply(lambda row: "/".join(v for v in row if v), axis=1)
        return pd.DataFrame(
            {"unique_id": unique_id, "ds": table["ds"], "y": table["y"], **parts,
             "statistic": table["statistic"]}
        ).reset_index(drop=True)  # fmt: skip


def job_problems(store: TelemetryStore) -> pd.DataFrame:
    """Every problem of every job row (file, row, column, reason, value, excluded)."""
    config = store.config
    store.materialize("repeated_ids")
    problems = store.sql(
        "job_problems", max_gpus=config.max_gpus_per_job, skus=list(config.skus or [])
    )
    problems["excluded"] = problems["reason"].map(config.excluded).astype(bool)
    return problems


def demand(config: TelemetryConfig, *, store: TelemetryStore | None = None) -> Demand:
    """Demand per group and ``config.grain`` bucket from the configured job log."""
    if config.jobs is None:
        raise InputError([Problem("telemetry config", None, "jobs", "no job log is configured")])
    store = TelemetryStore(config) if store is None else store
    problems = job_problems(store)
    store.exclude("jobs", problems)
    span = store.sql("window").iloc[0]
    start = pd.Timestamp(config.start) if config.start else span["first_event"]
    end = pd.Timestamp(config.end) if config.end else span["last_event"]
    rows = int(store.sql("count_jobs").iloc[0, 0])
    if pd.isna(start) or pd.isna(end) or end <= start:
        reasons = ", ".join(sorted(problems["reason"].unique())) or "none"
        message = f"no job row is left to aggregate (bad rows by reason: {reasons})"
        raise InputError([Problem("telemetry config", None, "jobs", message)])
    try:  # a time past 9999 is beyond Python's dates, past 2262 beyond pandas'
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        days = (end.to_pydatetime() - start.to_pydatetime()).days
    except (ValueError, OverflowError):
        message = f"the job log runs from {start} to {end}; set start and end in the config"
        raise InputError([Problem("telemetry config", None, "jobs", message)]) from None
    what = "days in the telemetry window (start to end; set both in the config to narrow it)"
    check(what, days, LIMITS.telemetry_days)
    window = {"grain": config.grain, "step_s": STEP_SECONDS[config.grain],
              "window_start": start, "window_end": end}  # fmt: skip
    size = store.sql("work", **window).iloc[0]
    check(f"rows of demand by group and {config.grain}", int(size["demand_rows"]),
          LIMITS.telemetry_rows)  # fmt: skip
    store.materialize("typical_runs")
    table = _with_statistic(store, config, store.sql("demand", workloads=[], **window), window)
    return Demand(table, problems, rows, (start, end))


def _with_statistic(
    store: TelemetryStore, config: TelemetryConfig, table: pd.DataFrame, window: dict[str, object]
) -> pd.DataFrame:
    """``table`` with each row's ``statistic`` (by workload, ``config.statistic_of``) and
    ``y``: the ``measure``, or at day grain for a statistic other than the mean, that
    statistic of the day's hourly ``measure`` (hours inside the window)."""
    statistic = table["workload"].map(config.statistic_of)
    table = table.assign(statistic=statistic, y=table[config.measure])
    if config.grain == "hour" or (statistic == "mean").all():
        return table
    hourly = {**window, "grain": "hour", "step_s": STEP_SECONDS["hour"]}
    size = int(store.sql("work", **hourly).iloc[0]["demand_rows"])
    check("rows of hourly demand behind the days' statistics", size, LIMITS.telemetry_rows)
    # Only the workloads whose days are not their mean, hour by hour.
    peaked = sorted(w for w in table["workload"].unique() if config.statistic_of(w) != "mean")
    hours = store.sql("demand", workloads=peaked, **hourly)
    hours = hours.assign(
        statistic=hours["workload"].map(config.statistic_of), day=hours["ds"].dt.floor("D")
    )
    keys = [*HISTORY_ATTRIBUTES, "day"]
    days = [
        rows.groupby(keys)[config.measure].quantile(quantile_of(name))
        for name, rows in hours[hours["statistic"] != "mean"].groupby("statistic")
    ]
    peaks = pd.concat(days).rename("peak").rename_axis([*HISTORY_ATTRIBUTES, "ds"]).reset_index()
    table = table.merge(peaks, on=[*HISTORY_ATTRIBUTES, "ds"], how="left")
    table["y"] = table["peak"].where(table["statistic"] != "mean", table["y"])
    return table.drop(columns="peak")
