"""Readable terminal summaries of a plan (rich tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from capforecast.plan.inputs import PlanningInputs
from capforecast.plan.result import Plan

_CASH_LABELS = {
    "capex": "capex, new orders",
    "energy": "energy, all installed units",
    "opex": "opex, all installed units",
    "cloud_offers": "reserved cloud contracts",
    "rent": "cloud rent, on demand",
    "salvage": "salvage of fleet retired early (received)",
    "total": "[bold]cash[/bold]",
}
_VALUATION_LABELS = {
    "terminal_value": "terminal value (service life left after the horizon, credit)",
    "shortfall": "penalty of unmet demand",
    "unplaced_clusters": "penalty of training clusters not placed",
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


def _print_costs(console: Console, plan: Plan) -> None:
    """Cash (undiscounted and present value) apart from the valuations (terminal value,
    penalties), and the objective that adds them."""
    table = plan.cost_table()
    cash = Table(title="Cash over the horizon (USD, expected over scenarios)")
    for column in ("component", "cash", "present value"):
        cash.add_column(column, justify="left" if column == "component" else "right")
    for row in table[table["kind"] == "cash"].itertuples(index=False):
        if row.cash or row.present_value or row.component == "total":
            cash.add_row(_CASH_LABELS[row.component], _money(row.cash), _money(row.present_value))
    console.print(cash)
    values = Table(title="Valuations in the objective, not cash (USD, present value)")
    values.add_column("component")
    values.add_column("USD", justify="right")
    for row in table[table["kind"] != "cash"].itertuples(index=False):
        label = _VALUATION_LABELS.get(row.component, f"rule cost '{row.component}'")
        if row.kind == "objective":
            risk = "risk-adjusted (CVaR)" if _risk_adjusted(plan) else "expected"
            label = f"[bold]objective ({risk}): cash present value + these[/bold]"
        else:
            label = escape(label)
        values.add_row(label, _money(row.present_value))
    console.print(values)
    if plan.expected_unmet > 0:
        for row in plan.penalties.itertuples(index=False):
            console.print(
                f"Unmet {escape(str(row.workload))} is valued at ${row.penalty_per_period:,.0f} "
                f"per reference unit-period (${row.penalty_per_hour:,.2f} per reference "
                "unit-hour; "
                f"{escape(str(row.source))})",
                highlight=False,
            )


def _risk_adjusted(plan: Plan) -> bool:
    expected = sum(plan.costs.values())
    return plan.objective is not None and abs(plan.objective - expected) > 1e-6 * abs(expected)


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

    _print_costs(console, plan)
    if plan.explanations:
        console.print("[bold]What binds, and what relaxing it is worth[/bold]")
        for line in plan.explanations:
            console.print(f"- {escape(line)}", highlight=False)
