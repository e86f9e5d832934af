"""Comparing plans: the same metrics for every plan under a ``scenario`` index level,
the differences from a baseline, and what changed in words.

:func:`compare` is a pure function of the plans (and their names); it reads only what
every :class:`~capforecast.plan.result.Plan` carries, so plans solved anywhere compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from capforecast.plan.result import COST_COMPONENTS, Plan, usd

#: Money of each plan after the objective: cash over the horizon (undiscounted) and its
#: present value, the penalty of unmet demand (a valuation), and what the MIP gap allows
#: (``gap_usd``: the gap times the objective, the most the plan may be above its best).
MONEY = ["cash", "cash_present_value", "penalty", "gap_usd"]
#: The figures of each plan after its costs, in the order of ``kpis``.
NUMBERS = ["capex_orders", "units_ordered", "expected_shortfall", "expected_rented", "coverage"]
NUMBERS += ["min_power_headroom_kw", "units_retired_early", "clusters_not_placed"]
KPI_COLUMNS = ["status", "total_cost", *MONEY, *(f"cost_{c}" for c in COST_COMPONENTS), *NUMBERS]
KPI_COLUMNS.append("first_shortfall")
#: A difference of these columns within the plans' gaps is no change; a unit figure
#: follows the cost component that prices it.
WITHIN_GAP = ["total_cost", "cash", "cash_present_value", "penalty", "capex_orders"]
WITHIN_GAP += [f"cost_{c}" for c in COST_COMPONENTS]
PRICED_BY = {
    "expected_shortfall": "cost_shortfall",
    "coverage": "cost_shortfall",
    "expected_rented": "cost_rent",
}
#: Expected unmet demand below this (reference unit-periods) is no shortfall.
SHORTFALL_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Comparison:
    """Metrics of several plans, each table with a ``scenario`` index level."""

    baseline: str
    kpis: pd.DataFrame  # index scenario
    #: kpis minus the baseline's (numbers only); a difference the plans' MIP gaps allow
    #: (``gap_usd`` of both) is 0, and ``within_gap`` says where that was applied.
    deltas: pd.DataFrame
    capex_by_year: pd.DataFrame  # index (scenario, year): undiscounted capex of orders
    units_by_sku: pd.DataFrame  # index (scenario, sku): units ordered
    power_headroom: pd.DataFrame  # index (scenario, site, period): cap - draw, kW
    summary: list[str] = field(default_factory=list)
    #: index scenario, columns of ``deltas``: True where a non-zero difference was
    #: within the MIP gaps and is reported as no change.
    within_gap: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _repr_html_(self) -> str:
        """How a comparison shows in Jupyter: what changed, then the key figures."""
        import html

        items = "".join(f"<li>{html.escape(line)}</li>" for line in self.summary)
        figures = self.kpis.T.to_html()
        return f"<b>Against {html.escape(self.baseline)}</b><ul>{items}</ul>{figures}"

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, as ``capforecast compare`` writes them."""
        names = ("kpis", "deltas", "capex_by_year", "units_by_sku", "power_headroom")
        return {name: getattr(self, name) for name in names}


def _kpis(plan: Plan) -> dict[str, object]:
    if not plan.has_solution:  # no plan: nothing to measure, and nothing is zero
        numbers = ["total_cost", *MONEY, *(f"cost_{c}" for c in COST_COMPONENTS), *NUMBERS]
        return {
            "status": str(plan.status),
            **dict.fromkeys(numbers, np.nan),
            "first_shortfall": "n/a",
        }
    short = plan.shortfall
    weights = short["probability"] if not short.empty else pd.Series(dtype=float)
    cluster_demand, cluster_unmet = _cluster_unit_periods(plan)
    demand = float((short["demand"] * weights).sum()) if not short.empty else 0.0
    unmet = float((short["unmet"] * weights).sum()) if not short.empty else 0.0
    demand, unmet = demand + cluster_demand, unmet + cluster_unmet
    rented = float((short["rented"] * weights).sum()) if not short.empty else 0.0
    first = "none"
    if not short.empty:
        per_period = (short["unmet"] * weights).groupby(short["period"].astype(str)).sum()
        late = per_period[per_period > SHORTFALL_TOLERANCE]
        first = str(late.index[0]) if len(late) else "none"
    power = plan.power
    headroom = float((power["cap_kw"] - power["draw_kw"]).min()) if not power.empty else np.nan
    objective = np.nan if plan.objective is None else float(plan.objective)
    record: dict[str, object] = {
        "status": str(plan.status),
        "total_cost": objective,
        "cash": plan.cash_total,
        "cash_present_value": plan.cash_present_value,
        "penalty": plan.penalty,
        "gap_usd": abs(objective) * (plan.gap or 0.0),
    }
    for component in COST_COMPONENTS:
        record[f"cost_{component}"] = float(plan.costs.get(component, 0.0))
    record |= {
        "capex_orders": float(plan.spend["capex"].sum()) if not plan.spend.empty else 0.0,
        "units_ordered": int(plan.purchases["units"].sum()) if not plan.purchases.empty else 0,
        "expected_shortfall": unmet,
        "expected_rented": rented,
        "coverage": 1 - unmet / demand if demand > 0 else 1.0,
        "first_shortfall": first,
        "min_power_headroom_kw": headroom,
        "units_retired_early": int(plan.retirements["units"].sum()) if len(plan.retirements) else 0,
        "clusters_not_placed": int((~plan.clusters["placed"].astype(bool)).sum()),
    }
    return record


def _cluster_unit_periods(plan: Plan) -> tuple[float, float]:
    """Reference unit-periods the training clusters ask for within the horizon, and those
    of the clusters not placed: a cluster left out is shortfall of its whole size in every
    period it runs."""
    clusters = plan.clusters
    if clusters.empty:
        return 0.0, 0.0
    horizon = pd.PeriodIndex(plan.spend["period"])
    periods = np.array(
        [
            (
                (horizon >= pd.Period(start, horizon.freq))
                & (horizon <= pd.Period(end, horizon.freq))
            ).sum()
            for start, end in zip(clusters["start"], clusters["end"], strict=True)
        ]
    )
    asked = clusters["size"].to_numpy(dtype=float) * periods
    left_out = ~clusters["placed"].astype(bool).to_numpy()
    return float(asked.sum()), float(asked[left_out].sum())


def compare(plans: Mapping[str, Plan], *, baseline: str | None = None) -> Comparison:
    """Compare ``plans`` (by scenario name, in the mapping's order) against ``baseline``
    (default: the first).

    Money is USD: ``total_cost`` and ``cost_*`` are discounted expected costs (the
    objective and its parts); ``capex_orders`` and ``capex_by_year`` are the undiscounted
    prices of the orders. ``expected_shortfall`` and ``expected_rented`` are in reference
    unit-periods, ``coverage`` is the share of demand served by owned or rented capacity.

    Examples
    --------
    >>> from capforecast.examples import sample_planning_inputs
    >>> from capforecast.plan.solve import solve
    >>> inputs = sample_planning_inputs().with_options(explain=False)
    >>> budget = inputs.budget.assign(capex_budget=inputs.budget["capex_budget"] * 0.8)
    >>> result = compare({"base": solve(inputs), "cut": solve(inputs.with_tables(budget=budget))})
    >>> bool(result.deltas.loc["cut", "expected_shortfall"] >= 0)
    True
    """
    if not plans:
        raise ValueError("compare() needs at least one plan")
    names = list(plans)
    baseline = names[0] if baseline is None else baseline
    if baseline not in plans:
        raise ValueError(f"baseline {baseline!r} is not one of the plans {names}")
    kpis = pd.DataFrame.from_records(
        [_kpis(plans[n]) for n in names], index=pd.Index(names, name="scenario")
    )
    kpis = kpis.reindex(columns=KPI_COLUMNS)
    numbers = kpis[[c for c in KPI_COLUMNS if c not in ("status", "first_shortfall")]]
    numbers = numbers.astype(float)
    deltas = numbers - numbers.loc[baseline]
    # Differences at rounding level (1e-12 of the figure) are no difference.
    deltas = deltas.mask(deltas.abs() <= 1e-12 * numbers.abs().max().clip(lower=1), 0.0)
    within = _within_gaps(numbers, deltas, baseline)
    deltas = deltas.mask(within, 0.0)
    solved = {n: p for n, p in plans.items() if p.has_solution}
    capex = _stack(
        {
            n: p.spend.assign(year=p.spend["period"].astype(str).str[:4])
            .groupby("year")["capex"]
            .sum()
            .to_frame("capex")
            for n, p in solved.items()
        },
        ["scenario", "year"],
        ["capex"],
    )
    units = _stack(
        {n: _units(p).to_frame("units") for n, p in solved.items()}, ["scenario", "sku"], ["units"]
    )
    headroom = _stack(
        {
            n: p.power.assign(
                period=p.power["period"].astype(str),
                headroom_kw=p.power["cap_kw"] - p.power["draw_kw"],
            ).set_index(["site", "period"])[["draw_kw", "cap_kw", "headroom_kw"]]
            for n, p in solved.items()
        },
        ["scenario", "site", "period"],
        ["draw_kw", "cap_kw", "headroom_kw"],
    )
    comparison = Comparison(baseline, kpis, deltas, capex, units, headroom, within_gap=within)
    return Comparison(**{**comparison.__dict__, "summary": _summary(comparison)})


def _within_gaps(numbers: pd.DataFrame, deltas: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Where a difference is no larger than the two plans' MIP gaps allow: each plan may be
    up to ``gap_usd`` above its best, so two plans of the same problem may differ by the
    sum of theirs in any money figure. A unit figure (shortfall, rent) follows the cost
    that prices it. True only where the difference is non-zero."""
    allowed = numbers["gap_usd"].fillna(0.0) + numbers.loc[baseline, "gap_usd"]
    within = pd.DataFrame(False, index=deltas.index, columns=deltas.columns)
    for column in WITHIN_GAP:
        within[column] = deltas[column].abs() <= allowed
    for column, cost in PRICED_BY.items():
        within[column] = within[cost]
    return within & (deltas != 0)


def _stack(frames: dict[str, pd.DataFrame], names: list[str], columns: list[str]) -> pd.DataFrame:
    """The frames one under another with the plan's name as the first index level (an
    empty table with those levels and columns when there is none)."""
    frames = {n: f for n, f in frames.items() if not f.empty}
    if not frames:
        index = pd.MultiIndex.from_arrays([[]] * len(names), names=names)
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns}, index=index)
    return pd.concat(frames, names=names)


def _units(plan: Plan) -> pd.Series:
    if plan.purchases.empty:
        return pd.Series(dtype=float)
    return plan.purchases.groupby("sku")["units"].sum().astype(float)


def _money(value: float) -> str:
    return ("+" if value >= 0 else "-") + usd(abs(value))


def _split(delta: pd.Series) -> str:
    """What a change of the objective is made of: cash (present value), the penalty of
    unmet demand and the terminal value (both valuations, not cash)."""
    parts = [f"cash {_money(delta['cash_present_value'])} (present value)"]
    if delta["penalty"] != 0:
        parts.append(f"penalty of unmet demand {_money(delta['penalty'])} (a valuation)")
    if delta["cost_terminal_value"] != 0:
        parts.append(f"terminal value {_money(delta['cost_terminal_value'])} (a valuation)")
    return ", ".join(parts)


def _cost_label(row: pd.Series) -> str:
    """'expected cost', or 'risk-adjusted cost' when the objective is not the sum of the
    expected costs (``risk: cvar``)."""
    expected = sum(row[f"cost_{c}"] for c in COST_COMPONENTS)
    same = abs(row["total_cost"] - expected) <= 1e-6 * max(1.0, abs(row["total_cost"]))
    return "expected cost" if same else "risk-adjusted cost (objective)"


def _summary(comparison: Comparison) -> list[str]:
    """One paragraph per scenario: what changed against the baseline, largest first."""
    kpis, base = comparison.kpis, comparison.baseline
    lines = []
    for name in kpis.index:
        if name == base:
            continue
        row, ref = kpis.loc[name], kpis.loc[base]
        if "n/a" in (row["first_shortfall"], ref["first_shortfall"]):
            which = name if row["first_shortfall"] == "n/a" else base
            status = kpis.loc[which, "status"]
            lines.append(
                f"{name} against {base}: {which} has no plan ({status}); nothing to compare."
            )
            continue
        parts = []
        if row["status"] != ref["status"]:
            parts.append(f"the solve ended {row['status']} (baseline: {ref['status']})")
        delta, within = comparison.deltas.loc[name], comparison.within_gap.loc[name]
        allowed = row["gap_usd"] + ref["gap_usd"]
        if delta["total_cost"] != 0:
            cost = delta["total_cost"]
            share = f" ({cost / ref['total_cost']:+.1%})" if ref["total_cost"] else ""
            parts.append(f"{_cost_label(row)} {_money(cost)}{share}: {_split(delta)}")
        elif within["total_cost"]:
            parts.append(f"{_cost_label(row)}: no change beyond the MIP gaps (±{usd(allowed)})")
        capex = delta["capex_orders"]
        if capex != 0:
            parts.append(f"orders {_money(capex)} at list price")
        short = delta["expected_shortfall"]
        if abs(short) > SHORTFALL_TOLERANCE:
            parts.append(
                f"expected shortfall {ref['expected_shortfall']:,.0f} -> "
                f"{row['expected_shortfall']:,.0f} unit-periods (coverage {row['coverage']:.1%})"
            )
        if row["first_shortfall"] != ref["first_shortfall"]:
            parts.append(
                f"first shortfall {row['first_shortfall']} (baseline: {ref['first_shortfall']})"
            )
        for key, what in (
            ("units_retired_early", "units retired early"),
            ("clusters_not_placed", "training clusters not placed"),
        ):
            if row[key] != ref[key]:
                parts.append(f"{what} {ref[key]:,.0f} -> {row[key]:,.0f}")
        units = comparison.units_by_sku["units"]
        change = units.get(name, pd.Series(dtype=float)).sub(
            units.get(base, pd.Series(dtype=float)), fill_value=0
        )
        change = change[change != 0]
        if len(change):
            order = change.abs().sort_values(ascending=False, kind="stable").index[:3]
            parts.append("units " + ", ".join(f"{sku} {change[sku]:+,.0f}" for sku in order))
        if not parts or all("no change" in p for p in parts):
            same = "orders identical" if capex == 0 and not len(change) else "orders differ"
            parts = [f"no change ({same}; every difference within the MIP gaps, ±{usd(allowed)})"]
        lines.append(f"{name} against {base}: " + "; ".join(parts) + ".")
    return lines


def frontier(comparison: Comparison) -> pd.DataFrame:
    """Capital spend against expected shortfall per plan: ``capex`` is the discounted
    cost of the orders (what a budget buys), ``expected_shortfall`` the demand left
    unserved (reference unit-periods); a plan is ``efficient`` when no other plan has
    less of both (and strictly less of one). ``total_cost`` is alongside. Sorted by capex.

    Examples
    --------
    >>> kpis = pd.DataFrame(
    ...     {"cost_capex": [10.0, 12.0, 13.0], "total_cost": [20.0, 19.0, 22.0],
    ...      "expected_shortfall": [8.0, 2.0, 2.0]}, index=["a", "b", "c"])
    >>> frontier(Comparison("a", kpis, kpis, *[pd.DataFrame()] * 3))["efficient"].tolist()
    [True, True, False]
    """
    kpis = comparison.kpis.dropna(subset=["cost_capex", "expected_shortfall"])  # no plan: no point
    table = kpis[["cost_capex", "expected_shortfall", "total_cost"]].rename(
        columns={"cost_capex": "capex"}
    )
    capex, short = table["capex"].to_numpy(), table["expected_shortfall"].to_numpy()
    dominated = [
        bool(np.any((capex <= c) & (short <= u) & ((capex < c) | (short < u))))
        for c, u in zip(capex, short, strict=True)
    ]
    table["efficient"] = np.logical_not(dominated)
    return table.sort_values(["capex", "expected_shortfall"], kind="stable")
