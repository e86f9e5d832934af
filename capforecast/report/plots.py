"""Static plots of plans, comparisons, forecasts and utilization (matplotlib).

Every function takes library objects and returns a ``matplotlib.figure.Figure``: it shows
inline in Jupyter, saves to PNG for the HTML report and the docs, and never opens a
window (the figures are made without pyplot's global state).

Names from the inputs (SKUs, sites, workloads, scenarios, series) are drawn as they are
written: every one goes through :func:`text`, so a ``$`` never starts matplotlib's math
(``$\\frac{a$`` would fail to draw) and a leading ``_`` never hides a legend entry.

=====================  =====================================================================
``coverage``           demand served per SKU (reference units, stacked), rented and unmet,
                       with the demand's spread over scenarios (a fan when there are several)
``capacity``           accelerators installed per period, stacked by SKU
``purchases``          units ordered per order period, stacked by SKU, one panel per site
``power``              power drawn against the cap per site and period
``spend``              capex of the orders placed per period against the budget
``frontier``           capital spend against expected shortfall of a sweep, efficient plans joined
``deltas``             each scenario's key figures against the baseline
``forecast_fan``       history, forecast mean and intervals of a few series
``backtest``           forecasts from each cutoff against the actuals
``profiles``           demand by hour of day and day of week, per workload (utilization)
=====================  =====================================================================
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from capforecast.core.errors import ParameterError
from capforecast.plan.result import Plan

#: Colours by position, from matplotlib's default cycle (tab10), so a SKU keeps its colour
#: across the panels of one figure.
PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]  # fmt: skip


def png(figure: Figure, *, dpi: int = 110) -> bytes:
    """``figure`` as PNG bytes, the same bytes for the same figure (no timestamps)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def _figure(panels: int = 1, *, width: float = 9.0, height: float = 3.6) -> tuple[Figure, list]:
    figure = Figure(figsize=(width, height * panels), layout="constrained")
    axes = figure.subplots(panels, 1, squeeze=False)[:, 0].tolist()
    return figure, axes


def text(name: object) -> str:
    r"""``name`` as plain text for a title, legend, label or tick (under matplotlib's
    default ``text.usetex: False``): each ``$`` escaped, so mathtext never parses it, and
    a zero-width space before a leading ``_``, which a legend would leave out.

    Examples
    --------
    >>> text("$\\frac{a$ x_1^2"), text("_spare")
    ('\\$\\frac{a\\$ x_1^2', '\u200b_spare')
    """
    shown = str(name).replace("$", r"\$")
    return f"\u200b{shown}" if shown.startswith("_") else shown


def _labels(periods: pd.Series) -> list[str]:
    return [str(p) for p in periods]


def _colours(names: Sequence[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def _sku_colours(plan: Plan) -> dict[str, str]:
    """One colour per SKU of the plan, the same in every figure of it."""
    return _colours(sorted({*plan.capacity.get("sku", []), *plan.purchases.get("sku", [])}))


def _empty(axis: object, text: str) -> None:
    axis.text(0.5, 0.5, text, ha="center", va="center", transform=axis.transAxes)  # type: ignore[attr-defined]
    axis.set_axis_off()  # type: ignore[attr-defined]


def coverage(plan: Plan) -> Figure:
    """Demand and how it is met, per period (all workloads, reference units): served by
    each SKU (expected over scenarios), rented and unmet, stacked; the line is expected
    demand, the band its 5-95% spread over scenarios."""
    figure, (axis,) = _figure()
    if plan.shortfall.empty:
        _empty(axis, f"no plan ({plan.status})")
        return figure
    short = plan.shortfall.assign(period=plan.shortfall["period"].astype(str))
    periods = sorted(short["period"].unique())
    served = plan.allocation.assign(
        period=plan.allocation["period"].astype(str),
        weighted=plan.allocation["reference_units"]
        * plan.allocation["scenario"].map(short.groupby("scenario")["probability"].first()),
    )
    by_sku = served.pivot_table(index="period", columns="sku", values="weighted", aggfunc="sum")
    by_sku = by_sku.reindex(periods).fillna(0.0)
    expected = (
        short.assign(
            rented_w=short["rented"] * short["probability"],
            unmet_w=short["unmet"] * short["probability"],
        )
        .groupby("period")[["rented_w", "unmet_w"]]
        .sum()
        .reindex(periods)
    )
    x = np.arange(len(periods))
    stack = [by_sku[c].to_numpy() for c in by_sku.columns]
    labels = [*map(text, by_sku.columns), "rented", "unmet"]
    palette = _sku_colours(plan)
    colours = [*(palette[c] for c in by_sku.columns), "#bbbbbb", "#000000"]
    axis.stackplot(
        x,
        *stack,
        expected["rented_w"],
        expected["unmet_w"],
        labels=labels,
        colors=colours,
        alpha=0.85,
    )
    totals = (
        short.groupby(["period", "scenario"])["demand"].sum().unstack("scenario").reindex(periods)
    )
    weights = short.groupby("scenario")["probability"].first().reindex(totals.columns).to_numpy()
    axis.plot(x, totals.to_numpy() @ weights, color="black", linewidth=2, label="demand (expected)")
    if totals.shape[1] > 1:
        low, high = (_weighted_quantile(totals.to_numpy(), weights, q) for q in (0.05, 0.95))
        axis.fill_between(x, low, high, color="black", alpha=0.15, label="demand 5-95%")
    axis.set_xticks(x, periods, rotation=45)
    axis.set_ylabel("reference units")
    axis.set_title("Demand and how it is met")
    axis.legend(loc="upper left", fontsize="small", ncols=2)
    return figure


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> np.ndarray:
    """Per row of ``values`` (periods x scenarios), the ``q`` quantile under ``weights``."""
    order = np.argsort(values, axis=1)
    sorted_values = np.take_along_axis(values, order, axis=1)
    cumulative = np.cumsum(weights[order], axis=1)
    index = (cumulative < q - 1e-12).sum(axis=1).clip(max=values.shape[1] - 1)
    return sorted_values[np.arange(len(values)), index]


def capacity(plan: Plan) -> Figure:
    """Accelerators installed per period, stacked by SKU (existing fleet and new orders
    together, all sites)."""
    figure, (axis,) = _figure()
    table = plan.capacity
    if table.empty:
        _empty(axis, f"no plan ({plan.status})")
        return figure
    wide = table.assign(period=table["period"].astype(str)).pivot_table(
        index="period", columns="sku", values="units", aggfunc="sum", fill_value=0
    )
    palette = _sku_colours(plan)
    x = np.arange(len(wide))
    stack = [wide[c].to_numpy() for c in wide.columns]
    colours = [palette[c] for c in wide.columns]
    axis.stackplot(x, *stack, labels=[text(c) for c in wide.columns], colors=colours, alpha=0.85)
    axis.set_xticks(x, list(wide.index), rotation=45)
    axis.set_ylabel("accelerators")
    axis.set_title("Installed capacity by SKU")
    axis.legend(loc="upper left", fontsize="small", ncols=2)
    return figure


def purchases(plan: Plan) -> Figure:
    """Units ordered per order period, stacked by SKU, one panel per site."""
    orders = plan.purchases
    sites = sorted(orders["site"].unique()) if not orders.empty else []
    figure, axes = _figure(max(1, len(sites)), height=2.6)
    if not sites:
        _empty(axes[0], "no orders")
        return figure
    periods = sorted(orders["order_period"].astype(str).unique())
    colours = _sku_colours(plan)
    for axis, site in zip(axes, sites, strict=True):
        table = orders[orders["site"] == site].assign(
            period=lambda t: t["order_period"].astype(str)
        )
        wide = table.pivot_table(index="period", columns="sku", values="units", aggfunc="sum")
        wide = wide.reindex(periods).fillna(0)
        bottom = np.zeros(len(periods))
        for sku in wide.columns:
            axis.bar(periods, wide[sku], bottom=bottom, label=text(sku), color=colours[sku])
            bottom += wide[sku].to_numpy()
        axis.set_title(f"Orders at {text(site)} (units, by order period)")
        axis.tick_params(axis="x", rotation=45)
        axis.legend(fontsize="small", loc="upper left")
    return figure


def power(plan: Plan) -> Figure:
    """Power drawn (nameplate x PUE x load factor) against the cap, per site."""
    table = plan.power
    sites = list(dict.fromkeys(table["site"])) if not table.empty else []
    figure, axes = _figure(max(1, len(sites)), height=2.4)
    if not sites:
        _empty(axes[0], "no power figures")
        return figure
    for axis, site in zip(axes, sites, strict=True):
        rows = table[table["site"] == site]
        periods = _labels(rows["period"])
        axis.plot(periods, rows["draw_kw"], marker="o", label="drawn")
        axis.step(periods, rows["cap_kw"], where="mid", color="#d62728", label="cap")
        axis.set_title(f"Power at {text(site)} (kW)")
        axis.tick_params(axis="x", rotation=45)
        axis.set_ylim(bottom=0)
        axis.legend(fontsize="small", loc="lower right")
    return figure


def spend(plan: Plan) -> Figure:
    """Capex of the orders placed in each period (list prices) against the budget."""
    figure, (axis,) = _figure()
    table = plan.spend
    if table.empty:
        _empty(axis, "no spend")
        return figure
    periods = _labels(table["period"])
    axis.bar(periods, table["capex"] / 1e6, label="capex of orders")
    axis.step(periods, table["budget"] / 1e6, where="mid", color="#d62728", label="budget")
    axis.set_ylabel("USD million")
    axis.set_title("Spend against budget")
    axis.tick_params(axis="x", rotation=45)
    axis.legend(fontsize="small")
    return figure


def frontier(points: pd.DataFrame) -> Figure:
    """A sweep's plans: discounted capex against expected shortfall (``frontier()``),
    efficient plans joined by a line."""
    figure, (axis,) = _figure(width=7.0, height=4.2)
    axis.scatter(points["capex"] / 1e6, points["expected_shortfall"], color="#7f7f7f", label="plan")
    efficient = points[points["efficient"]].sort_values("capex")
    axis.plot(
        efficient["capex"] / 1e6,
        efficient["expected_shortfall"],
        marker="o",
        color="#1f77b4",
        label="efficient",
    )
    for name, row in points.iterrows():
        where = (row["capex"] / 1e6, row["expected_shortfall"])
        axis.annotate(
            text(name), where, fontsize="x-small", xytext=(4, 4), textcoords="offset points"
        )
    axis.set_xlabel("capex, discounted (USD million)")
    axis.set_ylabel("expected shortfall (unit-periods)")
    axis.set_title("Budget frontier")
    axis.legend(fontsize="small")
    return figure


DELTA_FIGURES = {
    "total_cost": ("expected cost", 1e6, "USD million"),
    "capex_orders": ("orders at list price", 1e6, "USD million"),
    "expected_shortfall": ("expected shortfall", 1.0, "unit-periods"),
    "units_ordered": ("units ordered", 1.0, "units"),
}


def deltas(comparison: object) -> Figure:
    """Each scenario against the baseline: differences in the key figures."""
    table = comparison.deltas  # type: ignore[attr-defined]
    baseline = comparison.baseline  # type: ignore[attr-defined]
    others = [n for n in table.index if n != baseline]
    figure, axes = _figure(len(DELTA_FIGURES), width=8.0, height=max(1.2, 0.45 * len(others) + 0.9))
    for axis, (column, (title, scale, unit)) in zip(axes, DELTA_FIGURES.items(), strict=True):
        values = table.loc[others, column] / scale
        axis.barh(
            [text(n) for n in others], values, color=np.where(values >= 0, "#d62728", "#2ca02c")
        )
        axis.axvline(0, color="black", linewidth=0.8)
        axis.set_title(f"{title} against {text(baseline)} ({unit})", fontsize="medium")
    return figure


def forecast_fan(history: pd.DataFrame, forecast: pd.DataFrame, *, series: int = 4) -> Figure:
    """The last year of history and the forecast (mean and every interval) of the first
    ``series`` series, one panel each."""
    ids = list(dict.fromkeys(forecast["unique_id"]))[:series]
    figure, axes = _figure(len(ids), height=2.4)
    levels = sorted(int(c[3:]) for c in forecast.columns if c.startswith("lo-"))
    for axis, uid in zip(axes, ids, strict=True):
        past = history[history["unique_id"] == uid].tail(365)
        future = forecast[forecast["unique_id"] == uid]
        axis.plot(past["ds"], past["y"], color="black", linewidth=1, label="history")
        for level in reversed(levels):
            low, high = future[f"lo-{level}"], future[f"hi-{level}"]
            axis.fill_between(
                future["ds"], low, high, alpha=0.2, color="#1f77b4", label=f"{level}%"
            )
        axis.plot(future["ds"], future["mean"], color="#1f77b4", label="forecast")
        axis.set_title(text(uid), fontsize="medium")
        axis.legend(fontsize="x-small", loc="upper left")
    return figure


def backtest(folds: pd.DataFrame, *, series: int = 3, model: str | None = None) -> Figure:
    """Forecasts from each cutoff (one colour per cutoff) against the actuals, for the
    first ``series`` series of a ``cross_validation`` table."""
    available = [str(m) for m in dict.fromkeys(folds["model"])]
    named = [m for m in available if model is None or m.lower() == model.lower()]
    if not named:
        raise ParameterError(f"model {model!r} is not in the backtest; it has {available}")
    model = named[0]
    rows = folds[folds["model"] == model]
    ids = list(dict.fromkeys(rows["unique_id"]))[:series]
    figure, axes = _figure(len(ids), height=2.4)
    for axis, uid in zip(axes, ids, strict=True):
        one = rows[rows["unique_id"] == uid]
        actual = one.drop_duplicates("ds").sort_values("ds")
        axis.plot(actual["ds"], actual["y"], color="black", label="actual")
        for number, (cutoff, fold) in enumerate(one.groupby("cutoff", sort=True)):
            colour = PALETTE[number % len(PALETTE)]
            axis.plot(
                fold["ds"],
                fold["mean"],
                color=colour,
                label=f"from {pd.Timestamp(cutoff):%Y-%m-%d}",
            )
        axis.set_title(f"{text(uid)}: {text(model)} backtest", fontsize="medium")
        axis.legend(fontsize="x-small", loc="upper left")
    return figure


def profiles(table: pd.DataFrame) -> Figure:
    """Demand relative to its mean by hour of day and by day of week, per workload (the
    ``profiles`` table of ``capforecast.telemetry.utilization``)."""
    figure = Figure(figsize=(10, 3.4), layout="constrained")
    axes = figure.subplots(1, 2)
    for axis, (profile, title) in zip(
        axes,
        (("hour_of_day", "Hour of day"), ("day_of_week", "Day of week (0 = Monday)")),
        strict=True,
    ):
        rows = table[table["profile"] == profile]
        for workload, one in rows.groupby("workload", sort=True):
            axis.plot(one["slot"], one["relative"], marker=".", label=text(workload) or "(none)")
        axis.axhline(1, color="black", linewidth=0.8)
        axis.set_title(title)
        axis.set_ylabel("demand / mean")
        axis.legend(fontsize="x-small")
    return figure
