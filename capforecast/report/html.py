"""The HTML report: one self-contained file (styles inline, plots as embedded PNG, no
script and no link to anything), readable offline, the same bytes for the same plans."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure

from capforecast.plan.result import Plan
from capforecast.report import plots
from capforecast.scenario.compare import Comparison
from capforecast.scenario.run import ScenarioRun

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; border-bottom: 1px solid #ddd; margin-top: 2em; }
h3 { font-size: 1.1em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; height: auto; display: block; margin: 0.8em 0; }
.status-optimal { color: #2ca02c; } .status-feasible { color: #ff7f0e; }
.note { color: #666; font-size: 0.9em; }
"""


#: The figures of each plan in the report, in order.
PLAN_FIGURES = ("coverage", "capacity", "purchases", "spend", "power")


def _image(figure: Figure, alt: str) -> str:
    data = base64.b64encode(plots.png(figure)).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _number(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(table: pd.DataFrame, *, index: bool = True) -> str:
    """A table with numbers rounded for reading (the CSV and Excel files keep them whole)."""
    shown = table.copy()
    for column in shown.columns:
        shown[column] = shown[column].map(_number)
    return shown.to_html(index=index, escape=True, border=0)


#: Rows of a long table shown in the report (the CSV files and the workbook have all).
ROWS_SHOWN = 40


def _finance(plan: Plan) -> list[str]:
    """The finance views of a plan (docs/finance.md): cash against P&L by fiscal year,
    capex by vendor, depreciation by SKU and fiscal year, and TCO per reference unit-hour."""
    parts = [
        "<h3>Cash against P&amp;L by fiscal year</h3>",
        '<p class="note">USD, undiscounted, expected. <code>cash</code> is what is paid '
        "(capex when paid); <code>pnl</code> is the expense booked (depreciation instead of "
        "capex); salvage is received.</p>",
        _table(plan.fiscal_years, index=False),
    ]
    if not plan.capex_by_vendor.empty:
        by_vendor = plan.capex_by_vendor.pivot_table(
            index="vendor", columns="fiscal_year", values="capex", aggfunc="sum", fill_value=0.0
        )
        parts += ["<h3>Capex by vendor and fiscal year (USD, when paid)</h3>", _table(by_vendor)]
    if not plan.depreciation.empty:
        schedule = plan.depreciation.pivot_table(
            index="sku", columns="fiscal_year", values="depreciation", aggfunc="sum"
        )
        parts += [
            "<h3>Depreciation of the orders by fiscal year (USD, straight line)</h3>",
            _table(schedule.fillna(0.0)),
        ]
    if not plan.tco.empty:
        shown = plan.tco.head(ROWS_SHOWN)
        more = len(plan.tco) - len(shown)
        note = (
            f" The first {len(shown):,} of {len(plan.tco):,} rows: all are in tco.csv."
            if more
            else ""
        )
        parts += [
            "<h3>Cost of ownership per reference unit-hour (USD)</h3>",
            f'<p class="note">Capex over the service life, energy and opex, per reference '
            f"unit-hour delivered, beside the price to rent or contract it.{note}</p>",
            _table(shown, index=False),
        ]
    return parts


def comparison_report(
    runs: Sequence[ScenarioRun],
    comparison: Comparison,
    *,
    frontier: pd.DataFrame | None = None,
    title: str = "Capacity plan: scenario comparison",
) -> str:
    """The report of a comparison: what changed, the key figures, and each plan."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Baseline: <b>{html.escape(comparison.baseline)}</b>. Money is USD. "
        "<b>Cash</b> (capex, energy, opex, cloud contracts and rent, less salvage) is shown "
        "undiscounted (<code>cash</code>) and at its present value; the <b>penalty</b> of "
        "unmet demand and the terminal value are valuations in the objective, not cash. "
        "<code>total_cost</code> is the objective: the present value of cash plus the "
        "valuations, risk-adjusted under <code>risk: cvar</code>; <code>cost_*</code> are its "
        "discounted parts. A difference within the plans' MIP gaps (<code>gap_usd</code>) "
        "is reported as no change. Orders are at list price; shortfall is in reference "
        "unit-periods (H100-equivalent quarters).</p>",
        "<h2>Scenarios</h2><ul>",
    ]
    for run in runs:
        status = str(run.plan.status)
        parts.append(
            f"<li><b>{html.escape(run.name)}</b>: "
            f"{html.escape(run.scenario.description or '(no description)')} "
            f'<span class="status-{html.escape(status)}">[{html.escape(status)}]</span></li>'
        )
    parts.append("</ul><h2>What changed</h2><ul>")
    parts += [f"<li>{html.escape(line)}</li>" for line in comparison.summary] or [
        "<li>Only the baseline was run.</li>"
    ]
    parts.append("</ul><h2>Key figures</h2>")
    parts.append(_table(comparison.kpis.T))
    if len(runs) > 1:
        parts.append(_image(plots.deltas(comparison), "Differences from the baseline"))
    if frontier is not None:
        parts += ["<h2>Budget frontier</h2>", _image(plots.frontier(frontier), "Budget frontier")]
        parts.append(_table(frontier))
    for title, table in (
        ("Capex by year", comparison.capex_by_year),
        ("Units ordered by SKU", comparison.units_by_sku),
    ):
        if not table.empty:
            parts += [f"<h2>{title}</h2>", _table(table.unstack("scenario"))]
    for run in runs:
        plan = run.plan
        parts.append(f"<h2>Plan: {html.escape(run.name)}</h2>")
        parts.append(f'<p class="note">{html.escape(plan.message)}</p>')
        if not plan.has_solution:
            parts += [f"<p>{html.escape(line)}</p>" for line in plan.diagnosis]
            continue
        for name in PLAN_FIGURES:
            parts.append(_image(getattr(plots, name)(plan), f"{run.name}: {name}"))
        if plan.explanations:
            parts.append("<h3>What binds</h3><ul>")
            parts += [f"<li>{html.escape(line)}</li>" for line in plan.explanations]
            parts.append("</ul>")
        parts += [
            "<h3>Cash and valuations</h3>",
            '<p class="note">USD, expected over scenarios; <code>cash</code> undiscounted, '
            "<code>present_value</code> discounted. Only rows of kind <code>cash</code> are "
            "money paid or received.</p>",
            _table(plan.cost_table(), index=False),
        ]
        parts += _finance(plan)
        parts += ["<h3>Orders</h3>", _table(plan.purchases, index=False)]
        for heading, table in (
            ("Reserved cloud contracts (cash, USD undiscounted)", plan.offers),
            ("Capex by vendor (list prices, undiscounted)", plan.vendors),
            ("The analyst's rules at this plan", plan.rules),
        ):
            if not table.empty:
                parts += [f"<h3>{heading}</h3>", _table(table, index=False)]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
