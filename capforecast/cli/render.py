"""Readable terminal summaries of a plan (rich tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from capforecast.plan.inputs import PlanningInputs
from capforecast.plan.result import Plan

_COST_LABELS = {
    "capex": "capex, new orders (cash)",
    "energy_existing": "energy, existing fleet (cash)",
    "energy_new": "energy, new units (cash)",
    "opex": "opex, all installed units (cash)",
    "salvage": "salvage of fleet retired early (cash, credit)",
    "terminal_value": "terminal value (valuation, credit)",
    "unplaced_clusters": "training clusters not placed (penalty, valuation)",
    "cloud_offers": "reserved cloud contracts (cash)",
    "rent": "cloud rent, on demand (cash)",
    "shortfall": "shortfall penalty (valuation)",
}


def _money(value: float) -> str:
    return f"${value / 1e6:,.1f}M"


def _print_decisions(console: Console, plan: Plan, inputs: PlanningInputs) -> None:
    """Training clusters, fleet retired early, and (with regions) where each region's
    demand is served: the plan's decisions beyond its orders."""
    if not plan.clusters.empty:
        table = Table(title="Training clusters (each one block of one SKU at one site)")
        for column in ("cluster", "workload", "ref. units", "runs", "placed on", "units"):
            table.add_column(
                column, justify="right" if column in ("ref. units", "units") else "left"
            )
        for row in plan.clusters.itertuples(index=False):
            where = (
                f"{row.sku} at {row.site}"
                if bool(row.placed)
                else (f"not placed (penalty {_money(float(row.penalty))})")
            )
            table.add_row(
                escape(str(row.cluster)),
                escape(str(row.workload)),
                f"{float(row.size):,.0f}",
                f"{row.start}..{row.end}",
                escape(where),
                f"{int(row.units):,}" if bool(row.placed) else "",
            )
        console.print(table)
    if not plan.retirements.empty:
        table = Table(title="Fleet retired early (frees power and slots, saves energy and opex)")
        for column in ("period", "SKU", "site", "units", "salvage"):
            table.add_column(column, justify="right" if column in ("units", "salvage") else "left")
        for row in plan.retirements.itertuples(index=False):
            table.add_row(
                str(row.period),
                escape(str(row.sku)),
                escape(str(row.site)),
                f"{int(row.units):,}",
                _money(float(row.salvage)),
            )
        console.print(table)
    if not plan.offers.empty:
        table = Table(title="Reserved cloud contracts signed (paid per unit-period, used or not)")
        for column in ("offer", "workload", "signed", "active", "ref. units", "cash"):
            right = column in ("ref. units", "cash")
            table.add_column(column, justify="right" if right else "left", overflow="fold")
        for row in plan.offers.itertuples(index=False):
            table.add_row(
                escape(str(row.offer)),
                escape(str(row.workload)),
                str(row.signed),
                f"{row.first_period}..{row.last_period}",
                f"{float(row.units):,.1f}",
                _money(float(row.cost)),
            )
        console.print(table)
    if not plan.vendors.empty:
        table = Table(title="Capex by vendor (list prices, undiscounted) against its limits")
        for column in ("vendor", "capex", "share", "allowed"):
            table.add_column(column, justify="left" if column == "vendor" else "right")
        for row in plan.vendors.itertuples(index=False):
            low, high = float(row.min_share), float(row.max_share)
            allowed = "" if np.isnan(high) else f"{0 if np.isnan(low) else low:.0%}..{high:.0%}"
            table.add_row(
                escape(str(row.vendor)), _money(float(row.capex)), f"{row.share:.1%}", allowed
            )
        console.print(table)
    if "region" in plan.allocation.columns and not plan.allocation.empty:
        region_of = inputs.sites.set_index("site")["region"]
        served = plan.allocation.assign(
            at=plan.allocation["site"].map(region_of),
            weighted=plan.allocation["reference_units"]
            * plan.allocation["scenario"].map(
                inputs.scenarios.set_index("scenario")["probability"]
            ),
        )
        table = Table(
            title="Where each region's demand is served (reference unit-periods, expected)"
        )
        for column in ("demand region", "served in region", "reference unit-periods"):
            table.add_column(column, justify="right" if column.startswith("reference") else "left")
        for (region, at), total in served.groupby(["region", "at"])["weighted"].sum().items():
            table.add_row(escape(str(region)), escape(str(at)), f"{total:,.0f}")
        console.print(table)


def print_plan(console: Console, plan: Plan, inputs: PlanningInputs) -> None:
    """Status, orders by SKU/site/quarter, clusters, retirements and regions, spend vs
    budget, power vs cap, shortfall, costs."""
    gap = "n/a" if plan.gap is None else f"{plan.gap:.4%}"
    console.print(
        f"[bold]Status:[/bold] {plan.status}  solver {plan.solver} ({plan.message}), "
        f"gap {gap}, build {plan.build_seconds:.2f}s, solve {plan.solve_seconds:.2f}s"
    )
    for warning in plan.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    if not plan.has_solution:
        console.print("[red]No plan: see the status above.[/red]")
        for line in plan.diagnosis:
            console.print(f"- {escape(line)}", highlight=False)
        return

    orders = Table(title="Orders by SKU, site and period")
    for column in ("ordered", "arrives", "SKU", "site", "lots", "units", "capex"):
        orders.add_column(
            column, justify="right" if column in ("lots", "units", "capex") else "left"
        )
    for row in plan.purchases.itertuples(index=False):
        orders.add_row(
            str(row.order_period),
            str(row.arrival_period),
            escape(str(row.sku)),
            escape(str(row.site)),
            f"{row.lots:,}",
            f"{row.units:,}",
            _money(row.capex),
        )
    if plan.purchases.empty:
        orders.add_row("-", "-", "no orders", "", "", "", "")
    console.print(orders)

    _print_decisions(console, plan, inputs)

    money = Table(title="Spend vs budget and shortfall by budget period")
    for column in ("period", "capex", "budget", "used", "rented (ref. units)", "unmet"):
        money.add_column(column, justify="right")
    # By budget period (a year when budget.csv gives years), as the spend is.
    budget_freq = plan.spend["period"].dtype.freq
    short = plan.shortfall.groupby(plan.shortfall["period"].dt.asfreq(budget_freq), sort=True)[
        ["rented", "unmet"]
    ].sum()
    for row in plan.spend.itertuples(index=False):
        used = row.capex / row.budget if row.budget else 0.0
        money.add_row(
            str(row.period),
            _money(row.capex),
            _money(row.budget),
            f"{used:.0%}",
            f"{short.loc[row.period, 'rented']:,.0f}",
            f"{short.loc[row.period, 'unmet']:,.0f}",
        )
    console.print(money)

    power = Table(title="Power vs cap per site (peak over the horizon)")
    for column in ("site", "peak draw kW", "cap kW in that period", "peak use", "when"):
        power.add_column(column, justify="right")
    ratio = plan.power.assign(
        use=plan.power["draw_kw"] / plan.power["cap_kw"].where(lambda c: c > 0)
    )
    for site, group in ratio.groupby("site", sort=False):
        peak = group.loc[group["use"].fillna(0).idxmax()]
        power.add_row(
            escape(str(site)),
            f"{peak['draw_kw']:,.0f}",
            f"{peak['cap_kw']:,.0f}",
            "n/a" if pd.isna(peak["use"]) else f"{peak['use']:.0%}",
            str(peak["period"]),
        )
    console.print(power)

    costs = Table(title="Total cost of ownership over the horizon (discounted, expected)")
    costs.add_column("component")
    costs.add_column("USD", justify="right")
    for name, value in plan.costs.items():
        costs.add_row(_COST_LABELS.get(name, name), _money(value))
    expected = sum(plan.costs.values())
    costs.add_row("[bold]total (expected)[/bold]", f"[bold]{_money(expected)}[/bold]")
    if plan.objective is not None and abs(plan.objective - expected) > 1e-6 * abs(expected):
        costs.add_row("objective, risk-adjusted (CVaR)", _money(plan.objective))
    console.print(costs)
    if plan.explanations:
        console.print("[bold]What binds, and what relaxing it is worth[/bold]")
        for line in plan.explanations:
            console.print(f"- {escape(line)}", highlight=False)
