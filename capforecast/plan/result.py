"""The typed result of a solve (docs/model.md §8) and how it is written to disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capforecast.core.errors import SolverError
from capforecast.core.io import csv_bytes, json_bytes, write_bytes_atomic
from capforecast.plan.status import PlanStatus

#: Cost components of the objective, in the order reports show them.
COST_COMPONENTS = (
    "capex",
    "energy_existing",
    "energy_new",
    "opex",
    "salvage",
    "terminal_value",
    "unplaced_clusters",
    "cloud_offers",
    "rent",
    "shortfall",
)

#: What each kind of cost component is. ``cash``: money paid or received (capex, energy,
#: opex, reserved contracts, rent; salvage as a credit). ``valuation``: the terminal value,
#: a credit for the service life left after the horizon, not cash. ``penalty``: the value
#: put on demand left unmet (shortfall, training clusters not placed), not cash either.
#: A component not named here (a cost added by the analyst's rules) is of kind ``rules``.
COST_KINDS = {
    "capex": "cash",
    "energy_existing": "cash",
    "energy_new": "cash",
    "opex": "cash",
    "salvage": "cash",
    "cloud_offers": "cash",
    "rent": "cash",
    "terminal_value": "valuation",
    "unplaced_clusters": "penalty",
    "shortfall": "penalty",
}


def cost_kind(component: str) -> str:
    """``cash``, ``valuation``, ``penalty`` or ``rules`` (see :data:`COST_KINDS`)."""
    return COST_KINDS.get(component, "rules")


#: Columns of ``cash.csv``: the cash of each period by component (USD, undiscounted,
#: expected over scenarios): capex in the period it is paid, energy and opex of every
#: installed unit (the existing fleet's too), reserved cloud contracts, on-demand rent,
#: and salvage received (negative); ``total`` is their sum.
CASH_COLUMNS = ("period", "capex", "energy", "opex", "cloud_offers", "rent", "salvage", "total")


def cash_column(component: str) -> str:
    """The column of ``cash.csv`` a cash component is in (both energies in ``energy``)."""
    return "energy" if component.startswith("energy_") else component


#: Columns of ``penalties.csv``: each workload's shortfall penalty (USD per reference
#: unit-period unmet, and per reference unit-hour) and its
#: ``source`` (``options.yaml``, or the derived default and the SKU it comes from).
PENALTY_COLUMNS = ("workload", "penalty_per_period", "penalty_per_hour", "source")

#: Columns of ``retirements.csv``: units of a fleet row retired early in a period, and
#: their salvage (USD, undiscounted; negative when decommissioning costs more).
RETIREMENT_COLUMNS = ("sku", "site", "fleet_row", "period", "units", "salvage")

#: Columns of ``clusters.csv``: each training cluster, placed on one SKU at one site
#: (``units`` of it, from ``start`` to ``end``), or not placed at ``penalty`` (USD,
#: discounted: a valuation of the unmet training, not cash).
CLUSTER_COLUMNS = (
    "cluster",
    "workload",
    "size",
    "start",
    "end",
    "placed",
    "sku",
    "site",
    "units",
    "penalty",
)


#: Columns of ``offers.csv``: reserved cloud units signed (``units``, reference units) of
#: an offer in period ``signed``, active from ``first_period`` to ``last_period`` (within
#: the horizon), and their ``cost`` (USD, undiscounted cash paid in those periods). With
#: regions, ``region`` follows ``workload``.
OFFER_COLUMNS = ("offer", "workload", "signed", "units", "first_period", "last_period", "cost")

#: Columns of ``vendors.csv``: each vendor's capex (USD, undiscounted, at the order
#: price), its ``share`` of the capex of all orders, and the limits of ``vendor_limits.csv``.
VENDOR_COLUMNS = ("vendor", "capex", "share", "min_share", "max_share")

#: Columns of ``rules.csv``: each row of the analyst's rules (docs/rules.md), per period
#: or one total (``period`` empty): its ``left`` and ``right`` side at the plan, the
#: ``sense`` (``<=``, ``>=``, ``==``), the ``slack`` (how far from binding; 0 when it
#: binds) and the ``unit`` of its rows.
RULE_COLUMNS = ("rule", "period", "left", "sense", "right", "slack", "unit")


#: Warnings shown first in a plan's headline: demand that nothing can serve.
LOUD = ("[unservable_workload]",)


def empty_table(columns: tuple[str, ...]) -> pd.DataFrame:
    """A table with these columns and no rows (a plan's table without a solution)."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass(frozen=True, repr=False)
class Plan:
    """A purchase plan and everything needed to read it.

    All money is USD. ``costs`` are discounted (docs/model.md §5), expected over scenarios,
    and include the energy of the existing fleet still in service, ``opex`` when the
    catalog has some, ``salvage`` (negative) with ``early_retirement``, and the terminal
    value (negative) unless switched off; ``objective`` is their sum, or with
    ``risk: cvar`` the minimised ``(1 - w) E[C] + w CVaR_α(C)`` over ``scenario_costs``.
    Each component is cash, a valuation or a penalty (:data:`COST_KINDS`): ``cash`` is
    the cash by period (undiscounted), :attr:`cash_present_value` its discounted sum, and
    :attr:`penalty` the value put on unmet demand, which is not cash.
    ``spend`` is the undiscounted capex per budget period (charged in the order period, or
    with ``capex_timing: delivery`` the arrival period). Tables are empty when there is no
    solution.
    """

    status: PlanStatus
    objective: float | None
    bound: float | None
    gap: float | None
    build_seconds: float
    solve_seconds: float
    solver: str
    message: str
    purchases: pd.DataFrame
    capacity: pd.DataFrame
    allocation: pd.DataFrame
    rent: pd.DataFrame
    shortfall: pd.DataFrame
    spend: pd.DataFrame
    power: pd.DataFrame
    costs: dict[str, float]
    scenario_costs: pd.DataFrame  # scenario, probability, cost (the whole discounted C_ω)
    #: Fleet retired early (``early_retirement``): see :data:`RETIREMENT_COLUMNS`.
    retirements: pd.DataFrame = field(default_factory=lambda: empty_table(RETIREMENT_COLUMNS))
    #: Training clusters: see :data:`CLUSTER_COLUMNS`.
    clusters: pd.DataFrame = field(default_factory=lambda: empty_table(CLUSTER_COLUMNS))
    #: Reserved cloud contracts signed: see :data:`OFFER_COLUMNS`.
    offers: pd.DataFrame = field(default_factory=lambda: empty_table(OFFER_COLUMNS))
    #: Capex by vendor: see :data:`VENDOR_COLUMNS`.
    vendors: pd.DataFrame = field(default_factory=lambda: empty_table(VENDOR_COLUMNS))
    #: The analyst's rules at the plan: see :data:`RULE_COLUMNS`.
    rules: pd.DataFrame = field(default_factory=lambda: empty_table(RULE_COLUMNS))
    #: Cash by period and component: see :data:`CASH_COLUMNS`.
    cash: pd.DataFrame = field(default_factory=lambda: empty_table(CASH_COLUMNS))
    #: The shortfall penalty of each workload: see :data:`PENALTY_COLUMNS`.
    penalties: pd.DataFrame = field(default_factory=lambda: empty_table(PENALTY_COLUMNS))
    #: The finance views (``capforecast.plan.finance``, docs/finance.md): straight-line
    #: depreciation of the orders, cash against P&L by fiscal year, capex by vendor and
    #: fiscal year, and TCO per reference unit-hour beside rent and contract prices.
    depreciation: pd.DataFrame = field(default_factory=pd.DataFrame)
    fiscal_years: pd.DataFrame = field(default_factory=pd.DataFrame)
    capex_by_vendor: pd.DataFrame = field(default_factory=pd.DataFrame)
    tco: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: Constraints with a non-zero shadow price (``capforecast.plan.explain``).
    binding: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The largest shadow prices in words, each naming the LP it comes from.
    explanations: tuple[str, ...] = field(default_factory=tuple)
    #: Without a plan: why, in words, and the smallest relaxation per constraint family
    #: that would give one (``capforecast.plan.diagnosis``).
    diagnosis: tuple[str, ...] = field(default_factory=tuple)
    relaxations: pd.DataFrame = field(default_factory=pd.DataFrame)
    explain_seconds: float = 0.0

    @property
    def has_solution(self) -> bool:
        """True when the plan satisfies every constraint (optimal or feasible)."""
        return self.status.has_solution

    def raise_for_status(self) -> Plan:
        """Return ``self`` when a solution exists, else raise :class:`SolverError`."""
        if not self.has_solution:
            raise SolverError(f"no plan: the solve ended '{self.status}' ({self.message})")
        return self

    def cost_of(self, kind: str) -> float:
        """The discounted expected cost of the components of one kind (``cash``,
        ``valuation``, ``penalty`` or ``rules``); 0 without a solution."""
        return float(sum(v for k, v in self.costs.items() if cost_kind(k) == kind))

    @property
    def cash_present_value(self) -> float:
        """The present value of the cash (USD, discounted, expected over scenarios)."""
        return self.cost_of("cash")

    @property
    def cash_total(self) -> float:
        """The cash over the horizon (USD, undiscounted, expected): ``cash["total"]``."""
        return self.cash_sums()["total"]

    def cash_sums(self) -> dict[str, float]:
        """Each column of ``cash`` summed over the horizon (USD, undiscounted, expected)."""
        return {c: float(self.cash[c].sum()) if len(self.cash) else 0.0 for c in CASH_COLUMNS[1:]}

    @property
    def penalty(self) -> float:
        """The penalty of unmet demand and of training clusters not placed (USD,
        discounted, expected): a valuation in the objective, not cash."""
        return self.cost_of("penalty")

    @property
    def expected_unmet(self) -> float:
        """Demand left unmet, in reference unit-periods, expected over scenarios."""
        short = self.shortfall
        return float((short["unmet"] * short["probability"]).sum()) if len(short) else 0.0

    def cost_table(self) -> pd.DataFrame:
        """The plan's money in one table, cash apart from valuations: a row per column of
        :data:`CASH_COLUMNS` (kind ``cash``, ending with their ``total``), then each
        valuation and penalty of ``costs`` and the ``objective``. ``cash`` is USD
        undiscounted (cash rows only), ``present_value`` USD discounted; both expected
        over scenarios."""
        present = dict.fromkeys(CASH_COLUMNS[1:], 0.0)
        for name, value in self.costs.items():
            if cost_kind(name) == "cash":
                present[cash_column(name)] += value
        present["total"] = self.cash_present_value
        sums = self.cash_sums()
        rows = [(name, "cash", sums[name], value) for name, value in present.items()]
        rows += [
            (name, cost_kind(name), np.nan, value)
            for name, value in self.costs.items()
            if cost_kind(name) != "cash"
        ]
        rows.append(("objective", "objective", np.nan, _nan(self.objective)))
        return pd.DataFrame(rows, columns=["component", "kind", "cash", "present_value"])

    def _cash_summary(self) -> dict[str, Any]:
        """The cash of ``plan.json``: each component and the total over the horizon
        (undiscounted) and the total's present value."""
        return {
            "unit": "USD, undiscounted, expected over scenarios",
            **{c: _number(v) for c, v in self.cash_sums().items()},
            "present_value": _number(self.cash_present_value),
        }

    def summary(self) -> dict[str, Any]:
        """The headline numbers of ``plan.json`` (docs/model.md §8)."""
        units = self.purchases["units"].sum() if not self.purchases.empty else 0
        capex = self.purchases["capex"].sum() if not self.purchases.empty else 0.0
        retired = self.retirements["units"].sum() if not self.retirements.empty else 0
        salvage = self.retirements["salvage"].sum() if not self.retirements.empty else 0.0
        return {
            "status": str(self.status),
            "objective": _number(self.objective),
            "bound": _number(self.bound),
            "gap": _number(self.gap),
            "build_seconds": round(self.build_seconds, 3),
            "solve_seconds": round(self.solve_seconds, 3),
            "solver": self.solver,
            "message": self.message,
            "costs": {k: _number(v) for k, v in self.costs.items()},
            "cost_kinds": {k: cost_kind(k) for k in self.costs},
            "cash": self._cash_summary(),
            "valuations": {
                "unit": "USD, discounted, expected over scenarios; not cash",
                "terminal_value": _number(self.cost_of("valuation")),
                "penalty": _number(self.penalty),
            },
            "penalties": [
                {k: _number(v) if isinstance(v, float) else v for k, v in row.items()}
                for row in self.penalties.to_dict("records")
            ],
            "totals": {
                "units_ordered": int(units),
                "capex": _number(float(capex)),
                "expected_unmet_unit_periods": _number(self.expected_unmet),
                "units_retired_early": int(retired),
                "salvage": _number(float(salvage)),
                "clusters_placed": int(self.clusters["placed"].sum()) if len(self.clusters) else 0,
                "clusters_not_placed": int((~self.clusters["placed"].astype(bool)).sum()),
            },
            "warnings": list(self.warnings),
            "explanations": list(self.explanations),
            "diagnosis": list(self.diagnosis),
        }

    def headline(self) -> list[str]:
        """The plan in a few lines: status and gap, cash apart from valuations and the
        penalty, orders by SKU, and how many warnings."""
        gap = "n/a" if self.gap is None else f"{self.gap:.2%}"
        lines = [f"{self.status}, gap {gap}, solver {self.solver} ({self.message})"]
        if not self.has_solution:
            return [*lines, *self.diagnosis[:3], *_counted(self._warnings_first(), "warning")]
        sums = self.cash_sums()
        parts = [f"{c.replace('_', ' ')} {usd(sums[c])}" for c in CASH_COLUMNS[1:-1] if sums[c]]
        lines += [
            f"cash {usd(self.cash_total)} undiscounted (present value "
            f"{usd(self.cash_present_value)}): " + ", ".join(parts),
            f"terminal value {usd(self.cost_of('valuation'))} (a valuation, not cash)",
            f"penalty of unmet demand {usd(self.penalty)} for {self.expected_unmet:,.0f} "
            "reference unit-periods expected unmet (a valuation, not cash)",
        ]
        orders = self.purchases.groupby("sku", sort=True)["units"].sum()
        bought = ", ".join(f"{sku} {units:,}" for sku, units in orders.items())
        lines.append(f"orders: {bought or 'none'} (units)")
        return lines + _counted(self._warnings_first(), "warning")

    def _warnings_first(self) -> tuple[str, ...]:
        """The warnings, those of :data:`LOUD` checks first (stable otherwise)."""
        return tuple(sorted(self.warnings, key=lambda w: not w.startswith(LOUD)))

    def __repr__(self) -> str:
        return "Plan: " + "\n  ".join(self.headline())

    def _repr_html_(self) -> str:
        """How a plan shows in Jupyter: the headline, then orders by SKU and site, every
        warning, and what binds."""
        import html

        lines = self.headline()
        parts = [f"<b>Plan</b>: {html.escape(lines[0])}<ul>"]
        parts += [f"<li>{html.escape(line)}</li>" for line in lines[1:]] + ["</ul>"]
        if not self.purchases.empty:
            orders = self.purchases.pivot_table(
                index="sku", columns="site", values="units", aggfunc="sum", fill_value=0
            )
            parts.append("<b>Units ordered</b>" + orders.to_html())
        listed = (*self.warnings, *self.explanations[:3], *self.diagnosis)
        parts += [f"<br>{html.escape(line)}" for line in listed]
        return "\n".join(parts)

    def files(self) -> dict[str, bytes]:
        """``plan.json`` and the CSV tables, by file name, as :meth:`write` writes them."""
        tables = {
            "purchases": self.purchases,
            "capacity": self.capacity,
            "allocation": self.allocation,
            "rent": self.rent,
            "shortfall": self.shortfall,
            "spend": self.spend,
            "power": self.power,
            "scenario_costs": self.scenario_costs,
            "retirements": self.retirements,
            "clusters": self.clusters,
            "offers": self.offers,
            "vendors": self.vendors,
            "rules": self.rules,
            "cash": self.cash,
            "penalties": self.penalties,
            "depreciation": self.depreciation,
            "fiscal_years": self.fiscal_years,
            "capex_by_vendor": self.capex_by_vendor,
            "tco": self.tco,
            "binding": self.binding,
            "relaxations": self.relaxations,
        }
        files = {f"{name}.csv": csv_bytes(_labels_as_text(t)) for name, t in tables.items()}
        return files | {"plan.json": json_bytes(self.summary())}

    def write(self, directory: str | Path) -> list[Path]:
        """Write ``plan.json`` and the CSV tables into ``directory`` (each file atomically)."""
        written = []
        for name, data in self.files().items():
            path = Path(directory) / name
            write_bytes_atomic(path, data)
            written.append(path)
        return written


def _number(value: float | None, digits: int = 6) -> float | None:
    """Rounded for stable text output; ``None`` stays ``None``."""
    return None if value is None else round(float(value), digits)


def _nan(value: float | None) -> float:
    return np.nan if value is None else float(value)


def usd(value: float) -> str:
    """USD in millions above $100k: ``$12.3M``, ``-$0.4M``, ``$5,000``."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}${value / 1e6:,.1f}M" if value >= 1e5 else f"{sign}${value:,.0f}"


def _counted(lines: tuple[str, ...], what: str) -> list[str]:
    """``"2 warnings: first; second"`` (the first three), or nothing."""
    if not lines:
        return []
    plural = what if len(lines) == 1 else f"{what}s"
    more = f"; and {len(lines) - 3:,} more" if len(lines) > 3 else ""
    return [f"{len(lines):,} {plural}: " + "; ".join(lines[:3]) + more]


def _labels_as_text(table: pd.DataFrame) -> pd.DataFrame:
    converted = table.copy()
    for column in converted.columns:
        if isinstance(converted[column].dtype, pd.PeriodDtype):
            converted[column] = converted[column].astype(str)
    return converted
