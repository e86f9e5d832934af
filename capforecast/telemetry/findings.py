"""Findings: the utilization tables read as a ranked list of things to act on.

Each finding says in plain words what was seen, gives the numbers behind it, and how many
accelerators it would free or the demand it hides, with their worth at the config's
``unit_price`` where one is given. Findings are ranked by that worth, then by accelerators.

================  =========================================================================
kind              what it says
================  =========================================================================
idle_allocation   a group holds GPUs at low busy utilization; right-sizing to
                  ``target_busy_utilization`` would free ``held * (1 - busy / target)``
hidden_demand     a group's jobs queue: usage understates its demand by the GPUs pending
unallocated       GPUs in service that even the 95th-percentile day leaves unallocated
fragmentation     fractional requests each holding a GPU alone, against packed
stranded          GPUs free on partly used nodes (no $: they are not all recoverable)
peak              demand peaking far above its mean (no $: a sizing and sharing question)
change            a step in a series' demand, 7 days against the 7 before
================  =========================================================================
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

import numpy as np
import pandas as pd

from capforecast.telemetry.config import TelemetryConfig
from capforecast.telemetry.utilization import ALL, GROUP, UNKNOWN_NODE, Utilization

#: Smaller effects than these are not findings: accelerators, and share of the base.
MIN_ACCELERATORS, MIN_SHARE = 1.0, 0.05
#: Allocation below this share of inventory on the 95th-percentile day is a finding.
UNALLOCATED_SHARE = 0.9
#: Peaks above this multiple of the mean are a finding.
PEAK_RATIO = 1.5


@dataclass(frozen=True)
class Finding:
    """One finding: what, about whom, the evidence, and its size."""

    kind: str
    subject: str
    text: str
    evidence: str
    sku: str
    accelerators: float  # freed, or demand hidden
    usd: float  # their worth at unit_price; NaN when unknown or not a saving


def _name(row: pd.Series) -> str:
    """A group's name: its non-empty attributes joined with '/'."""
    return "/".join(str(row[c]) for c in GROUP if str(row[c]))


def _dollars(usd: float) -> str:
    if usd >= 1e6:
        return f"${usd / 1e6:,.1f}M"
    return f"${usd / 1e3:,.0f}k" if usd >= 1e3 else f"${usd:,.0f}"


def _money(usd: float) -> str:
    """ ", about $6.2M of orders" (nothing when the worth is unknown)."""
    return "" if np.isnan(usd) else f", about {_dollars(usd)} of orders"


def _span(hours: float) -> str:
    """A window's length in words: days, or hours when under two days."""
    return f"{hours / 24:,.0f} days" if hours >= 48 else f"{hours:,.0f} hours"


def _unit(sku: str) -> str:
    """How accelerators of ``sku`` are called in a sentence."""
    return "GPUs" if sku in ("", "any", ALL) else sku


class _Rules:
    """The rules that turn tables into findings, one method per kind."""

    def __init__(self, result: Utilization, config: TelemetryConfig) -> None:
        self.result, self.config = result, config
        self.span = _span(result.hours)

    def worth(self, sku: str, units: float) -> float:
        price = self.config.unit_price
        return units * price[sku] if sku in price else np.nan

    def idle_allocation(self) -> list[Finding]:
        target, found = self.config.target_busy_utilization, []
        for _, row in self.result.teams.iterrows():
            name, sku, busy = _name(row), row["sku"], row["busy_utilization"]
            if not (row["measured_share"] >= 0.5 and busy < target):
                continue
            freed = row["held"] * (1 - busy / target)
            if freed < MIN_ACCELERATORS:
                continue
            usd, unit = self.worth(sku, freed), _unit(sku)
            found.append(
                Finding(
                    "idle_allocation",
                    name,
                    f"{name} holds {row['held']:,.0f} {unit} at {busy:.0%} busy utilization; "
                    f"right-sizing to {target:.0%} would free ~{freed:,.0f} {unit}{_money(usd)}.",
                    f"{row['gpu_hours']:,.0f} GPU-hours allocated over {self.span}, "
                    f"{row['idle_gpu_hours']:,.0f} of them idle "
                    f"({row['measured_share']:.0%} measured by utilization samples).",
                    sku,
                    freed,
                    usd,
                )
            )
        return found

    def hidden_demand(self) -> list[Finding]:
        queue, found = self.result.queue, []
        for _, row in self.result.teams.iterrows():
            name, sku, pending = _name(row), row["sku"], row["pending"]
            if pending < MIN_ACCELERATORS or pending < MIN_SHARE * row["held"]:
                continue
            waits = queue[(queue["workload"] == row["workload"]) & (queue["sku"] == sku)]
            usd, unit = self.worth(sku, pending), _unit(sku)
            share = pending / (row["held"] + pending)
            evidence = (
                f"{row['pending_gpu_hours']:,.0f} GPU-hours queued against "
                f"{row['gpu_hours']:,.0f} in use over {self.span}."
            )
            if len(waits) and not np.isnan(waits["p90_wait_h"].iloc[0]):
                wait = waits.iloc[0]
                jobs = f"{row['workload']} {unit}".strip()
                evidence += (
                    f" Of all {jobs} jobs that started, 90% waited under "
                    f"{wait['p90_wait_h']:,.1f} h; {wait['still_queued']:,.0f} were still "
                    "queued at the end."
                )
            found.append(
                Finding(
                    "hidden_demand",
                    name,
                    f"{name} has ~{pending:,.0f} {unit} of demand waiting in the queue on "
                    f"average: usage shows only {1 - share:.0%} of its demand, and planning "
                    f"from usage alone would leave ~{pending:,.0f} {unit} short{_money(usd)}.",
                    evidence,
                    sku,
                    pending,
                    usd,
                )
            )
        return found

    def unallocated(self) -> list[Finding]:
        allocation, found = self.result.allocation, []
        stocked = allocation[allocation["inventory"] > 0]
        # Jobs that name no SKU the inventory has are only comparable fleet-wide.
        fleet_only = not set(self.result.demand.table["sku"]) & set(stocked["sku"])
        # A SKU some of whose jobs name no known node is only comparable over its sites.
        unplaced = set(allocation["sku"][(allocation["site"] == UNKNOWN_NODE)])
        for _, row in stocked.iterrows():
            sku, site = row["sku"], row["site"]
            if (sku == ALL) != fleet_only:
                continue
            whole = (
                sku in unplaced
                or not ((allocation["sku"] == sku) & (allocation["site"] != ALL)).any()
            )
            if (site == ALL) != whole:
                continue
            free = row["inventory"] - row["allocated_p95_day"]
            busy_day = row["allocated_p95_day"]
            if busy_day >= UNALLOCATED_SHARE * row["inventory"] or free < MIN_ACCELERATORS:
                continue
            where, unit = ("" if site == ALL else f" at {site or '(no site)'}"), _unit(sku)
            usd = self.worth(sku, free)
            found.append(
                Finding(
                    "unallocated",
                    f"{unit}{where}",
                    f"Only {row['allocation_rate']:.0%} of the {row['inventory']:,.0f} "
                    f"{unit}{where} are allocated on average; ~{free:,.0f} stay unallocated "
                    f"even on busy days: move queued demand onto them or defer "
                    f"orders{_money(usd)}.",
                    f"{row['allocated']:,.0f} allocated on average, at most {busy_day:,.0f} "
                    f"on 95% of days, of {row['inventory']:,.0f} in service.",
                    sku,
                    free,
                    usd,
                )
            )
        return found

    def fragmentation(self) -> list[Finding]:
        found = []
        for _, row in self.result.fragmentation.iterrows():
            sku = row["sku"]
            freed = row["unshared_gpus"] - row["packed_gpus"]
            if freed < MIN_ACCELERATORS:
                continue
            usd, unit = self.worth(sku, freed), _unit(sku)
            requests = f"{'GPU' if unit == 'GPUs' else unit} requests"
            found.append(
                Finding(
                    "fragmentation",
                    f"fractional {requests}",
                    f"Fractional {requests} do {row['fractional_gpus']:,.1f} GPUs of work "
                    f"but hold {row['unshared_gpus']:,.1f} GPUs when each has a GPU to itself; "
                    f"packed, they need {row['packed_gpus']:,.1f}: packing would free up to "
                    f"~{freed:,.1f} {unit}{_money(usd)}.",
                    "Window averages of the requests below one GPU (and of the fractional "
                    "part of larger ones).",
                    sku,
                    freed,
                    usd,
                )
            )
        return found

    def stranded(self) -> list[Finding]:
        found = []
        for _, row in self.result.stranded.iterrows():
            if row["stranded_gpus"] < 8 * MIN_ACCELERATORS:
                continue
            where = f"{_unit(row['sku'])} at {row['site']}"
            found.append(
                Finding(
                    "stranded",
                    where,
                    f"On average ~{row['stranded_gpus']:,.0f} {where} sit free on partly used "
                    "nodes, where a job needing whole nodes cannot use them.",
                    f"{row['partial_nodes']:,.1f} partly used nodes on average.",
                    row["sku"],
                    row["stranded_gpus"],
                    np.nan,
                )
            )
        return found

    def peak(self) -> list[Finding]:
        peaks, found = self.result.peaks, []
        for _, row in peaks[(peaks["sku"] == ALL) & (peaks["workload"] != ALL)].iterrows():
            spare = row["peak"] - row["mean"]
            if row["peak_to_average"] < PEAK_RATIO or spare < MIN_ACCELERATORS:
                continue
            workload = row["workload"] or "(no workload)"
            found.append(
                Finding(
                    "peak",
                    f"{workload} demand",
                    f"{workload} demand peaks at {row['peak_to_average']:.1f}x its average "
                    f"({row['peak']:,.0f} against {row['mean']:,.0f} GPUs, at "
                    f"{row['peak_at']:%Y-%m-%d %H:00}): capacity sized for the peak idles "
                    f"~{spare:,.0f} GPUs on average, room for work that can wait.",
                    f"95th percentile of hourly demand {row['p95']:,.0f}.",
                    ALL,
                    spare,
                    np.nan,
                )
            )
        return found

    def change(self) -> list[Finding]:
        changes, found = self.result.changes, []
        for _, row in changes[changes["flagged"]].iterrows():
            name, sku, change = _name(row), row["sku"], row["change"]
            if abs(change) < MIN_ACCELERATORS:
                continue
            usd, unit = self.worth(sku, abs(change)), _unit(sku)
            if row["before"] <= 0:
                moved = "appeared"
            else:
                moved = f"{'rose' if change > 0 else 'fell'} {abs(row['relative']):.0%}"
            worth = "" if np.isnan(usd) else f" ({_dollars(usd)} of accelerators)"
            found.append(
                Finding(
                    "change",
                    name,
                    f"{name} demand {moved} around {row['ds']:%Y-%m-%d}, from "
                    f"{row['before']:,.0f} to {row['after']:,.0f} {unit}{worth}.",
                    f"Mean daily demand of the 7 days from {row['ds']:%Y-%m-%d} against the "
                    "7 before.",
                    sku,
                    abs(change),
                    usd,
                )
            )
        return found


KINDS = ["idle_allocation", "hidden_demand", "unallocated", "fragmentation", "stranded"]
KINDS += ["peak", "change"]


def findings(result: Utilization, config: TelemetryConfig) -> pd.DataFrame:
    """The ranked findings of ``result``: one row per finding, ``rank`` from 1, by worth
    (``usd``, unknown last), then accelerators."""
    rules = _Rules(result, config)
    found = [finding for kind in KINDS for finding in getattr(rules, kind)()]
    columns = [f.name for f in fields(Finding)]
    table = pd.DataFrame.from_records([astuple(f) for f in found], columns=columns)
    table = table.sort_values(
        ["usd", "accelerators", "kind", "subject"],
        ascending=[False, False, True, True],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if np.isnan(value) else f"{value:,.3g}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value).replace("|", "\\|")


def markdown_table(table: pd.DataFrame) -> str:
    """``table`` as a Markdown table (numbers rounded for reading).

    Examples
    --------
    >>> print(markdown_table(pd.DataFrame({"sku": ["H100"], "held": [312.4]})))
    | sku | held |
    |---|---|
    | H100 | 312 |
    """
    lines = ["| " + " | ".join(table.columns) + " |", "|---" * len(table.columns) + "|"]
    lines += [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)
    ]
    return "\n".join(lines)


TEAM_COLUMNS = [*GROUP, "held", "pending", "busy_utilization", "idle_gpu_hours"]


def report(result: Utilization, ranked: pd.DataFrame, *, top: int = 20) -> str:
    """The ``top`` findings as a Markdown document, with the tables behind them."""
    start, end = result.demand.window
    lines = [
        "# Utilization findings",
        "",
        f"Window: {start} to {end} ({result.hours / 24:,.1f} days); "
        f"{result.demand.rows:,} job rows read, {len(result.demand.problems):,} job-row "
        f"problems and {len(result.problems):,} inventory or "
        "utilization problems (see the `problems` tables).",
        "",
        "## Findings, ranked",
        "",
    ]
    if ranked.empty:
        lines.append("Nothing stands out: no finding passed its threshold.")
    for row in ranked.head(top).itertuples(index=False):
        lines.append(f"{row.rank}. **{row.text}** {row.evidence}")
    if len(ranked) > top:
        lines += ["", f"{len(ranked) - top} more findings are in the findings table."]
    sections = (
        ("Allocation by SKU and site (GPUs, window averages)", result.allocation.iloc[:, :9]),
        ("Queue waits (hours)", result.queue),
        (
            "Groups with the most idle allocated GPU-hours (top 10)",
            result.teams.head(10).iloc[:, :9],
        ),
        ("Demand peaks by workload and SKU (GPUs, hourly)", result.peaks),
        ("Fractional requests (GPUs, window averages)", result.fragmentation),
        ("GPUs free on partly used nodes", result.stranded),
        ("Largest step per series (7 days against 7)", result.changes),
    )
    for title, table in sections:
        if not table.empty:
            lines += ["", f"## {title}", "", markdown_table(table)]
    return "\n".join(lines) + "\n"
