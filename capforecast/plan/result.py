"""The typed result of a solve (docs/model.md §8) and how it is written to disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def empty_table(columns: tuple[str, ...]) -> pd.DataFrame:
    """A table with these columns and no rows (a plan's table without a solution)."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass(frozen=True)
class Plan:
    """A purchase plan and everything needed to read it.

    All money is USD. ``costs`` are discounted (docs/model.md §5), expected over scenarios,
    and include the energy of the existing fleet still in service, ``opex`` when the
    catalog has some, ``salvage`` (negative) with ``early_retirement``, and the terminal
    value (negative) unless switched off; ``objective`` is their sum, or with
    ``risk: cvar`` the minimised ``(1 - w) E[C] + w CVaR_α(C)`` over ``scenario_costs``.
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

    def summary(self) -> dict[str, Any]:
        """The headline numbers of ``plan.json`` (docs/model.md §8)."""
        units = self.purchases["units"].sum() if not self.purchases.empty else 0
        capex = self.purchases["capex"].sum() if not self.purchases.empty else 0.0
        retired = self.retirements["units"].sum() if not self.retirements.empty else 0
        salvage = self.retirements["salvage"].sum() if not self.retirements.empty else 0.0
        short = self.shortfall
        unmet = (short["unmet"] * short["probability"]).sum() if not short.empty else 0.0
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
            "totals": {
                "units_ordered": int(units),
                "capex": _number(float(capex)),
                "expected_unmet_unit_periods": _number(float(unmet)),
                "units_retired_early": int(retired),
                "salvage": _number(float(salvage)),
                "clusters_placed": int(self.clusters["placed"].sum()) if len(self.clusters) else 0,
                "clusters_not_placed": int((~self.clusters["placed"].astype(bool)).sum()),
            },
            "warnings": list(self.warnings),
            "explanations": list(self.explanations),
            "diagnosis": list(self.diagnosis),
        }

    def _repr_html_(self) -> str:
        """How a plan shows in Jupyter: status, costs, orders by SKU and site, what binds."""
        import html

        gap = "n/a" if self.gap is None else f"{self.gap:.3%}"
        parts = [
            f"<b>Plan</b>: {html.escape(str(self.status))}, gap {gap}, solver "
            f"{html.escape(self.solver)} ({html.escape(self.message)})"
        ]
        if self.costs:
            costs = pd.Series(self.costs, name="USD (discounted)").map("{:,.0f}".format)
            parts.append(costs.to_frame().to_html())
        if not self.purchases.empty:
            orders = self.purchases.pivot_table(
                index="sku", columns="site", values="units", aggfunc="sum", fill_value=0
            )
            parts.append("<b>Units ordered</b>" + orders.to_html())
        parts += [f"<br>{html.escape(line)}" for line in (*self.explanations[:3], *self.diagnosis)]
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


def _labels_as_text(table: pd.DataFrame) -> pd.DataFrame:
    converted = table.copy()
    for column in converted.columns:
        if isinstance(converted[column].dtype, pd.PeriodDtype):
            converted[column] = converted[column].astype(str)
    return converted
